"""Configuration of the emulator: plain dataclasses, mutable at runtime through ``Emulator``."""

from __future__ import annotations

import dataclasses
from typing import Literal

__all__ = ["EmulatorConfig", "FaultConfig", "RateLimitConfig", "RateRule"]


@dataclasses.dataclass(frozen=True)
class RateRule:
    """At most ``times`` requests per ``seconds`` (burst ``times``, then one every ``seconds/times``)."""

    times: int
    seconds: float


@dataclasses.dataclass(frozen=True)
class RateLimitConfig:
    """Per-account limits of the two buckets; ``enabled=False`` switches rate limiting off."""

    fast: RateRule = RateRule(500, 300)
    slow: RateRule = RateRule(100, 300)
    enabled: bool = True
    #: ``"int"``: ``Retry-After`` in whole seconds (rounded up, at least 1) like the real service;
    #: ``"float"``: the exact wait (millisecond resolution), for fast tests.
    retry_after_precision: Literal["int", "float"] = "int"

    @classmethod
    def off(cls) -> RateLimitConfig:
        return cls(enabled=False)

    @classmethod
    def per_second(cls, fast: int, slow: int, *, precision: Literal["int", "float"] = "float") -> RateLimitConfig:
        """Scaled-down limits for tests and benchmarks, e.g. ``per_second(100, 20)``."""
        return cls(RateRule(fast, 1), RateRule(slow, 1), True, precision)


@dataclasses.dataclass(frozen=True)
class FaultConfig:
    """What goes wrong, how often.  Rates are probabilities per request in ``[0, 1]``.

    ``endpoints`` limits every fault to the listed routes, each given by route name
    (``"orders.create"``) or by method and path template (``"POST /api/v2/orders"``);
    ``None`` means every API route.  Admin routes (``/_emulator/...``) never see faults.
    """

    #: Share of requests answered with a status drawn from ``error_statuses`` (nothing done).
    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    #: Share of requests whose connection is aborted before the server acts.
    reset_before_rate: float = 0.0
    #: Share of requests whose connection is aborted after the server acted (side effect kept).
    reset_after_rate: float = 0.0
    #: Added latency per request: ``latency + uniform(0, latency_jitter)`` seconds.
    latency: float = 0.0
    latency_jitter: float = 0.0
    #: Share of requests whose response is held ``stall_seconds`` after the server acted.
    stall_rate: float = 0.0
    stall_seconds: float = 30.0
    #: Share of session-authenticated requests whose session expires just before (answer 401).
    session_expiry_rate: float = 0.0
    #: The next ``burst_429`` matching requests are answered 429 (counted down, then normal).
    burst_429: int = 0
    burst_429_retry_after: float = 1.0
    endpoints: tuple[str, ...] | None = None
    #: Seed of the fault dice; ``None`` derives it from ``EmulatorConfig.seed``.
    seed: int | None = None

    @property
    def active(self) -> bool:
        return bool(
            self.error_rate
            or self.reset_before_rate
            or self.reset_after_rate
            or self.latency
            or self.latency_jitter
            or self.stall_rate
            or self.session_expiry_rate
            or self.burst_429
        )


@dataclasses.dataclass
class EmulatorConfig:
    """Everything tunable.  Defaults model the real service at a test-friendly speed."""

    host: str = "127.0.0.1"
    #: 0 picks a free port.
    port: int = 0
    seed: int = 0
    users: int = 2
    initial_credits: float = 36_000.0
    #: Seconds before an uploaded or TTS original is ``done``.
    original_delay: float = 0.2
    original_error_rate: float = 0.0
    #: Range of seconds a conversion stays ``processing`` (drawn per conversion).
    conversion_delay: tuple[float, float] = (0.5, 2.0)
    conversion_error_rate: float = 0.0
    calibration_delay: float = 0.5
    calibration_error_rate: float = 0.0
    #: Uploads larger than this answer 413.
    max_upload_size: int = 1 << 30
    #: Originals larger than this are not pitch-shifted on conversion: the PCM is copied and
    #: only the WAV header (an INFO chunk naming voice and shift) changes, to keep it cheap.
    convert_max_bytes: int = 8 << 20
    session_ttl: float = 24 * 3600.0
    rate_limits: RateLimitConfig = dataclasses.field(default_factory=RateLimitConfig)
    faults: FaultConfig = dataclasses.field(default_factory=FaultConfig)
    #: Where uploads and generated audio go; ``None``: a temporary directory removed on stop.
    data_dir: str | None = None
    voice_count: int = 60
    # -- answering like another legal server (the SDK must cope with each) -------------------
    #: Optional fields (not in the OpenAPI's ``required`` list) left unset (``None`` or their
    #: default): ``"full"`` sends them as they are, ``"null"`` as ``null`` (FastAPI's way),
    #: ``"omit"`` leaves them out.
    optional_fields: Literal["full", "null", "omit"] = "full"
    #: ``GET /api/calibration``: ``"page"`` (the OpenAPI's ``{list, pagination}``) or
    #: ``"list"`` (the endpoint reference's bare JSON list, still honouring limit/offset).
    calibrations_shape: Literal["page", "list"] = "page"
    #: ``/api/stats/projects`` and ``/api/stats/folders``: ``"any"`` accepts GET and POST;
    #: ``"GET"`` or ``"POST"`` accepts only that method and answers 405 to the other.
    stats_method: Literal["any", "GET", "POST"] = "any"

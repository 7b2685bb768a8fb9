"""What the emulator saw and did, for tests that assert on side effects ("nothing uploaded twice")."""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

__all__ = ["Counters"]

_SCALARS = (
    "requests_total",
    "uploads_total",
    "uploads_bytes",
    "orders_total",
    "conversions_created",
    "retries_total",
    "tts_created",
    "calibrations_created",
    "projects_created",
    "folders_created",
    "credits_spent",
    "errors_injected",
    "resets_before",
    "resets_after",
    "stalls_injected",
    "sessions_expired",
    "rate_limited",
)


class Counters:
    """Plain counters, updated in place on the event loop (no locking needed).

    ``snapshot()`` returns JSON-ready builtins; keys of the per-item maps are strings:
    ``uploads_by_user_file`` is keyed ``"<user_id>:<file_name>"``.
    """

    requests_total: int
    uploads_total: int
    uploads_bytes: int
    orders_total: int
    conversions_created: int
    retries_total: int
    tts_created: int
    calibrations_created: int
    projects_created: int
    folders_created: int
    credits_spent: float
    errors_injected: int
    resets_before: int
    resets_after: int
    stalls_injected: int
    sessions_expired: int
    rate_limited: int

    def __init__(self) -> None:
        self.requests_by_endpoint: Counter[str] = Counter()
        self.requests_by_route: Counter[str] = Counter()
        self.requests_by_status: Counter[int] = Counter()
        self.requests_by_user: Counter[str] = Counter()
        self.uploads_by_user_file: Counter[str] = Counter()
        self.uploads_by_label: Counter[str] = Counter()
        self.orders_by_original: Counter[str] = Counter()
        self.rate_limited_by_bucket: Counter[str] = Counter()
        self.reset()

    def reset(self) -> None:
        """Zero everything in place: request handlers hold references to these counters."""
        for name in _SCALARS:
            setattr(self, name, 0)
        self.credits_spent = 0.0
        for counter in (
            self.requests_by_endpoint,
            self.requests_by_route,
            self.requests_by_status,
            self.requests_by_user,
            self.uploads_by_user_file,
            self.uploads_by_label,
            self.orders_by_original,
            self.rate_limited_by_bucket,
        ):
            counter.clear()

    @property
    def resets_injected(self) -> int:
        return self.resets_before + self.resets_after

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: getattr(self, name) for name in _SCALARS}
        out["resets_injected"] = self.resets_injected
        out["requests_by_endpoint"] = dict(self.requests_by_endpoint)
        out["requests_by_route"] = dict(self.requests_by_route)
        out["requests_by_status"] = {str(k): v for k, v in self.requests_by_status.items()}
        out["requests_by_user"] = dict(self.requests_by_user)
        out["uploads_by_user_file"] = dict(self.uploads_by_user_file)
        out["uploads_by_label"] = dict(self.uploads_by_label)
        out["orders_by_original"] = dict(self.orders_by_original)
        out["rate_limited_by_bucket"] = dict(self.rate_limited_by_bucket)
        return copy.deepcopy(out)

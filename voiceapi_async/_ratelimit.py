"""Client-side rate limiting, shared by every task that uses one client.

The server limits each account with two leaky buckets: "fast" requests (500 per
300 s by default) and "slow" ones (100 per 300 s: uploads, orders, TTS, calibration
creation, exports).  We mirror them with the same algorithm (GCRA: a burst of
``times`` requests, then one every ``seconds / times``) minus a little headroom for
network jitter, so a well-behaved client never sees a 429.  When one does arrive,
the whole bucket pauses for its ``Retry-After``, not just the request that got it.

Hand-written rather than ``aiolimiter`` because we need an injectable clock (tests),
a shared pause on 429, and live reconfiguration from the account's own limits.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from ._models import RateLimit, User

__all__ = ["Bucket", "RateLimiter", "RateLimits"]

Bucket = Literal["fast", "slow"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RateLimits:
    """Client-side limits.  ``RateLimits.disabled()`` turns the buckets off.

    ``headroom`` is the share of each bucket kept unused to absorb network jitter
    between our clock and the server's.  ``max_in_flight`` caps concurrent requests.
    """

    fast: RateLimit | None = field(default_factory=lambda: RateLimit(times=500, seconds=300))
    slow: RateLimit | None = field(default_factory=lambda: RateLimit(times=100, seconds=300))
    max_in_flight: int = 64
    headroom: float = 0.02

    @classmethod
    def disabled(cls, *, max_in_flight: int = 256) -> RateLimits:
        return cls(fast=None, slow=None, max_in_flight=max_in_flight)

    @classmethod
    def from_user(cls, user: User, *, max_in_flight: int = 64, headroom: float = 0.02) -> RateLimits:
        """The account's own limits, from ``client.auth.me()``; documented defaults if absent."""
        limits = user.data.rate_limits if user.data else None
        if limits is None:
            return cls(max_in_flight=max_in_flight, headroom=headroom)
        return cls(fast=limits.fast, slow=limits.slow, max_in_flight=max_in_flight, headroom=headroom)


class _Gcra:
    """One leaky bucket (generic cell rate algorithm) that reserves slots in FIFO order."""

    def __init__(self, limit: RateLimit, headroom: float) -> None:
        burst = max(1, math.floor(limit.times * (1 - headroom)))
        self.interval = limit.seconds / (limit.times * (1 - headroom))
        self.tolerance = self.interval * (burst - 1)
        self.tat = -math.inf  # theoretical arrival time of the next request
        self.paused_until = -math.inf

    def reserve(self, now: float) -> float:
        """Reserve the next slot; return how long to wait for it (0 if free now)."""
        start = max(now, self.paused_until)
        tat = max(self.tat, start)
        allowed_at = max(start, tat - self.tolerance)
        self.tat = tat + self.interval
        return allowed_at - now

    def pause(self, now: float, seconds: float) -> None:
        """Hold every request for ``seconds`` and start again from an empty burst."""
        self.paused_until = max(self.paused_until, now + seconds)
        self.tat = max(self.tat, self.paused_until + self.tolerance)


class RateLimiter:
    """The buckets and the in-flight cap of one client."""

    def __init__(self, limits: RateLimits | None = None, *, clock: Clock | None = None, sleep: Sleep | None = None):
        self._clock: Clock = clock or time.monotonic
        self._sleep: Sleep = sleep or asyncio.sleep
        self.configure(limits or RateLimits())
        self.waited_seconds = 0.0
        self.throttled = 0

    @property
    def limits(self) -> RateLimits:
        return self._limits

    def configure(self, limits: RateLimits) -> None:
        """Apply new limits (e.g. the account's own); waiting tasks keep their reservations."""
        self._limits = limits
        self._buckets: dict[str, _Gcra] = {}
        if limits.fast is not None:
            self._buckets["fast"] = _Gcra(limits.fast, limits.headroom)
        if limits.slow is not None:
            self._buckets["slow"] = _Gcra(limits.slow, limits.headroom)
        self._in_flight = asyncio.Semaphore(max(1, limits.max_in_flight))

    async def acquire(self, bucket: Bucket) -> None:
        """Wait for a slot in ``bucket`` (returns at once when limits are disabled)."""
        gcra = self._buckets.get(bucket)
        if gcra is None:
            return
        wait = gcra.reserve(self._clock())
        if wait > 0:
            self.throttled += 1
            self.waited_seconds += wait
            await self._sleep(wait)

    def slot(self) -> asyncio.Semaphore:
        """The in-flight cap: ``async with limiter.slot():`` around one request."""
        return self._in_flight

    def penalize(self, bucket: Bucket, retry_after: float) -> None:
        """The server answered 429: pause the whole bucket for ``retry_after`` seconds."""
        gcra = self._buckets.get(bucket)
        if gcra is not None:
            gcra.pause(self._clock(), retry_after)

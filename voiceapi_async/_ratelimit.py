"""Client-side rate limiting, shared by every task that uses one client.

The server limits each account in two buckets: "fast" requests (500 per 300 s by
default) and "slow" ones (100 per 300 s: uploads, orders, TTS, calibration creation,
exports).  We keep the strictest reading of "N per S seconds": at most ``times``
sends in ANY window of ``seconds`` (a sliding log), which conforms both to a server
counting windows and to one running a leaky bucket of the same size.  The window is
stretched by ``headroom`` to absorb network jitter, so a well-behaved client never
sees a 429.  When one does arrive, the whole bucket pauses for its ``Retry-After``,
not just the request that got it.

Hand-written rather than ``aiolimiter`` because we need an injectable clock (tests),
a shared pause on 429, and live reconfiguration from the account's own limits.

With ``store="redis://..."`` the buckets (not the in-flight cap) live in Redis instead
(``_ratelimit_redis``): the same rule, shared by every process and machine using the
store, keyed by account.  The in-process buckets stay the default.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ._models import RateLimit, User

if TYPE_CHECKING:
    from ._ratelimit_redis import RedisBuckets

__all__ = ["Bucket", "RateLimiter", "RateLimits", "account_for_key"]

Bucket = Literal["fast", "slow"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RateLimits:
    """Client-side limits.  ``RateLimits.disabled()`` turns the buckets off.

    ``headroom`` stretches each window (2 % by default) to absorb network jitter
    between our sends and the server's arrivals.  ``max_in_flight`` caps concurrent requests.
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


class _Window:
    """One bucket: at most ``times`` sends in any ``seconds``-long window, FIFO reservations."""

    def __init__(self, limit: RateLimit, headroom: float) -> None:
        self.times = max(1, limit.times)
        self.window = limit.seconds * (1 + headroom)
        self.sent: deque[float] = deque(maxlen=self.times)  # reserved send times, oldest first
        self.paused_until = -math.inf

    def reserve(self, now: float) -> float:
        """Reserve the next slot; return how long to wait for it (0 if free now)."""
        start = max(now, self.paused_until)
        if self.sent:
            start = max(start, self.sent[-1])
            if len(self.sent) == self.times:
                start = max(start, self.sent[0] + self.window)
        self.sent.append(start)
        return start - now

    def pause(self, now: float, seconds: float) -> None:
        """Hold every request of this bucket for ``seconds``."""
        self.paused_until = max(self.paused_until, now + seconds)


def account_for_key(api_key: str | None) -> str:
    """The shared buckets' name for an account known only by its key: a hash, never the key itself."""
    if not api_key:
        return "anonymous"
    return "key-" + hashlib.sha256(b"voiceapi-async rate limit\0" + api_key.encode()).hexdigest()[:32]


class InFlightSlots:
    """At most ``limit`` requests in flight; the others wait their turn (first come, first served).

    Like ``asyncio.Semaphore`` with one addition: ``try_acquire()`` takes a free slot
    without a coroutine and without scanning the waiters, which is what nearly every
    request does (benchmark B1: ``Semaphore.locked()`` and ``acquire()`` cost about 10% of
    the SDK's own work per call).  ``release()`` hands the slot straight to the first
    waiter, so a slot freed while others wait is never taken by a newcomer.
    """

    __slots__ = ("_free", "_waiters", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._free = limit
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        """Slots nobody holds."""
        return self._free

    def locked(self) -> bool:
        """Whether ``acquire()`` would wait."""
        return not self._free or bool(self._waiters)

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody waits; never waits."""
        if self._free and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Wait for a slot (cancellable; a slot handed over as the wait is cancelled is passed on)."""
        if self.try_acquire():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as the wait was cancelled: the next waiter gets it
            else:
                waiter.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


class RateLimiter:
    """The buckets and the in-flight cap of one client.

    ``store``: a Redis URL to share the buckets with every process using it (needs the
    ``redis`` extra); ``store_timeout`` bounds each call to it.  ``account`` names the
    shared buckets (``"user-<id>"`` once the account is known, else a hash of the key).
    """

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        store: str | None = None,
        store_timeout: float = 5.0,
        account: str = "anonymous",
    ):
        self._clock: Clock = clock or time.monotonic
        self._sleep: Sleep = sleep or asyncio.sleep
        #: With a real clock, the shared store uses its own server's clock (machines may disagree).
        self._fake_clock = clock is not None
        self._shared: RedisBuckets | None = None
        if store:
            from ._ratelimit_redis import RedisBuckets

            self._shared = RedisBuckets(store, timeout=store_timeout)
        self._owns_store = True
        self.account = account
        self._initial = limits or RateLimits()
        self.configure(self._initial)
        self.waited_seconds = 0.0
        self.throttled = 0

    @property
    def limits(self) -> RateLimits:
        return self._limits

    @property
    def active(self) -> bool:
        """False when both buckets are disabled (``acquire`` would return at once)."""
        return bool(self._buckets)

    @property
    def shared(self) -> bool:
        """Whether the buckets live in a shared store (Redis) rather than in this process."""
        return self._shared is not None

    def configure(self, limits: RateLimits, *, account: str | None = None) -> None:
        """Apply new limits (e.g. the account's own); waiting tasks keep their reservations.

        ``account`` renames the shared buckets (the account's id, once known).
        """
        if account is not None:
            self.account = account
        self._limits = limits
        self._buckets: dict[str, _Window] = {}
        if limits.fast is not None:
            self._buckets["fast"] = _Window(limits.fast, limits.headroom)
        if limits.slow is not None:
            self._buckets["slow"] = _Window(limits.slow, limits.headroom)
        self._in_flight = InFlightSlots(max(1, limits.max_in_flight))

    async def acquire(self, bucket: Bucket) -> None:
        """Wait for a slot in ``bucket`` (returns at once when limits are disabled).

        With a shared store, raises ``RateLimitStoreError`` (nothing sent) when it fails.
        """
        bucket_state = self._buckets.get(bucket)
        if bucket_state is None:
            return
        if self._shared is None:
            wait = bucket_state.reserve(self._clock())
        else:
            now = self._clock() if self._fake_clock else None
            wait = await self._shared.reserve(self.account, bucket, bucket_state.times, bucket_state.window, now)
        if wait > 0:
            self.throttled += 1
            self.waited_seconds += wait
            await self._sleep(wait)

    def slot(self) -> InFlightSlots:
        """The in-flight cap: ``try_acquire()`` or ``await acquire()`` a slot, then ``release()`` it."""
        return self._in_flight

    async def penalize(self, bucket: Bucket, retry_after: float) -> None:
        """The server answered 429: pause the whole bucket (every process sharing it) for ``retry_after`` seconds."""
        bucket_state = self._buckets.get(bucket)
        if bucket_state is None:
            return
        bucket_state.pause(self._clock(), retry_after)
        if self._shared is not None:
            now = self._clock() if self._fake_clock else None
            await self._shared.pause(self.account, bucket, retry_after, now)

    def for_account(self, account: str) -> RateLimiter:
        """A limiter of its own for another account (another tenant's key): fresh buckets and in-flight cap.

        The server counts each account separately, so one tenant's traffic must not
        slow another's.  It starts from the limits this limiter was created with (not
        ones adopted for this account since) and shares its clock, sleep and store
        connection (whose buckets are named by ``account``), which it leaves open on
        ``aclose``: this limiter's owner closes it.
        """
        other = RateLimiter(self._initial, clock=self._clock, sleep=self._sleep, account=account)
        other._fake_clock, other._shared, other._owns_store = self._fake_clock, self._shared, False
        return other

    async def aclose(self) -> None:
        """Close the connection to the shared store, if any (and this limiter made it)."""
        if self._shared is not None and self._owns_store:
            await self._shared.close()

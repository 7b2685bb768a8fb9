"""Per-client settings: timeouts and the retry policy (both overridable per call)."""

from __future__ import annotations

import email.utils
import functools
import random
import time
from dataclasses import dataclass

import aiohttp

__all__ = ["RetryPolicy", "Timeout", "parse_retry_after"]

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Timeout:
    """Seconds allowed to connect, between two reads, for the whole request, and for a slot.

    ``total`` defaults to ``None`` so a large upload or download is bounded by its
    progress (``read``) rather than its size.  For JSON calls, whose answers are small,
    ``connect + read`` bounds the whole request.  ``pool`` bounds the wait for one of the
    client's ``max_in_flight`` slots (then ``PoolTimeoutError``; ``None``: no bound).
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    total: float | None = None
    pool: float | None = 60.0

    @functools.cached_property
    def for_streams(self) -> aiohttp.ClientTimeout:
        """Downloads and large uploads: ``read`` bounds each wait for bytes, so size never times out.

        (An upload of at most ``SMALL_BODY`` bytes in memory goes under ``for_answers``.)
        """
        return aiohttp.ClientTimeout(total=self.total, sock_connect=self.connect, sock_read=self.read)

    @functools.cached_property
    def for_answers(self) -> aiohttp.ClientTimeout:
        """JSON calls: ``connect + read`` bounds the whole (small) answer.

        One deadline per request instead of a timer re-armed on every chunk read: the
        same protection for small answers at a fraction of the CPU (benchmark B1).
        """
        bound = None if self.read is None else self.read + (self.connect or 0.0)
        total = bound if self.total is None else self.total if bound is None else min(self.total, bound)
        return aiohttp.ClientTimeout(total=total, sock_connect=self.connect)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    Retried: connection errors, timeouts, 408, 429 and 5xx — for idempotent calls.
    A non-idempotent call (upload, order, TTS, create) is retried only when the
    request provably never reached the server (the connection could not be opened)
    or the server refused it unprocessed (429); otherwise the error is raised so the
    caller can reconcile before sending it again.
    """

    max_retries: int = 3
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 120.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): full jitter."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return (rng or random).uniform(0, ceiling)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """The server's ``Retry-After`` (capped) when given, else the jittered backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max)
        return self.backoff(attempt, rng)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: an integer/float, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))

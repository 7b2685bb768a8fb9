"""Per-account rate limiting: a GCRA (generic cell rate algorithm, a leaky bucket).

Semantics, which the client SDK mirrors so that a well-behaved client never sees a 429:

* Each account has two independent buckets, ``fast`` and ``slow``, each a rule
  ``times`` per ``seconds``.  Slow requests (uploads, calibrations, orders, retries, TTS,
  exports) count in ``slow`` only; every other API request (file downloads included) in
  ``fast``.
* Emission interval ``T = seconds / times``; burst tolerance ``tau = (times - 1) * T``.
  The bucket keeps a theoretical arrival time ``tat`` (initially "now").  A request at
  ``now`` is allowed when ``max(tat, now) - now <= tau``; it then sets
  ``tat = max(tat, now) + T``.  So ``times`` requests may arrive at once, then one every
  ``T`` seconds; an idle bucket refills continuously.
* A refused request does not consume anything.  It gets 429 ``{"detail": "Rate limit
  exceeded"}`` and ``Retry-After`` = ``max(tat, now) - now - tau`` (the exact time after
  which the same request is allowed): rounded up to whole seconds, at least 1, by
  default; or as a decimal number of seconds with ``retry_after_precision="float"``.
* Unauthenticated requests are not limited (they answer 401 before).
"""

from __future__ import annotations

import math

from ._config import RateLimitConfig, RateRule

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, config: RateLimitConfig) -> None:
        self.config = config
        self._tat: dict[tuple[str, bool], float] = {}

    def reconfigure(self, config: RateLimitConfig) -> None:
        self.config = config
        self._tat.clear()

    def check(self, user_id: str, slow: bool, now: float) -> float | None:
        """``None`` if allowed (and counted), else the seconds to wait."""
        cfg = self.config
        if not cfg.enabled:
            return None
        rule: RateRule = cfg.slow if slow else cfg.fast
        interval = rule.seconds / rule.times
        key = (user_id, slow)
        tat = self._tat.get(key, now)
        if tat < now:
            tat = now
        wait = tat - now - interval * (rule.times - 1)
        if wait > 1e-9:
            return wait
        self._tat[key] = tat + interval
        return None

    def retry_after_header(self, wait: float) -> str:
        if self.config.retry_after_precision == "float":
            return f"{max(wait, 0.001):.3f}"
        return str(max(1, math.ceil(wait)))

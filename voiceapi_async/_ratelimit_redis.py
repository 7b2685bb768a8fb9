"""The rate limiter's buckets kept in Redis, shared by every process and machine of one account.

The same rule as the in-process ``_Window`` (at most ``times`` sends in any window of
``seconds x (1 + headroom)``, FIFO reservations, a whole-bucket pause on 429), run as
one Lua script so that concurrent reservations from many processes are atomic.  Each
bucket is a Redis list of the last ``times`` reserved send times plus a pause key; the
clock is the Redis server's (``TIME``), so machines with skewed clocks agree.

Imported only when a store URL is given: the ``redis`` package is the optional extra
``voiceapi-async[redis]``.  Every call to Redis is bounded by ``timeout`` seconds; a
failure raises ``RateLimitStoreError`` and the request is not sent (no silent
overshoot of the account's limits, no hang).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._errors import InvalidRequestError, RateLimitStoreError

__all__ = ["RedisBuckets", "check_store_url", "redact_url"]

SCHEMES = ("redis", "rediss", "unix")
KEY_PREFIX = "voiceapi:ratelimit"

# ``now`` from the caller (a test's fake clock), or "" for the Redis server's own clock.
_CLOCK = """
local function clock(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: the bucket's log (a list of reserved send times), its pause key.
# ARGV: times, window (s), now ("" = the Redis server's clock).  Returns the wait, in seconds, as a string
# (a Lua number would be truncated to an integer on its way back).
_RESERVE = (
    _CLOCK
    + """
local times = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = clock(ARGV[3])
local start = now
local paused = tonumber(redis.call('GET', KEYS[2]) or '')
if paused and paused > start then start = paused end
local n = redis.call('LLEN', KEYS[1])
if n > 0 then
  local last = tonumber(redis.call('LINDEX', KEYS[1], -1))
  if last > start then start = last end
  if n >= times then
    local oldest = tonumber(redis.call('LINDEX', KEYS[1], n - times))
    if oldest + window > start then start = oldest + window end
  end
end
redis.call('RPUSH', KEYS[1], string.format('%.6f', start))
if n + 1 > times then redis.call('LTRIM', KEYS[1], -times, -1) end
redis.call('PEXPIRE', KEYS[1], math.ceil((start - now + window) * 1000) + 1000)
return string.format('%.6f', start - now)
"""
)

# KEYS: the pause key.  ARGV: seconds, now ("" = the server's clock).
_PAUSE = (
    _CLOCK
    + """
local now = clock(ARGV[2])
local seconds = tonumber(ARGV[1])
local until_ = now + seconds
local current = tonumber(redis.call('GET', KEYS[1]) or '')
if current == nil or current < until_ then
  redis.call('SET', KEYS[1], string.format('%.6f', until_), 'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""
)


def check_store_url(url: str) -> str:
    """The URL if it names a Redis server, else an ``InvalidRequestError`` saying what to write."""
    if not isinstance(url, str) or urlsplit(url).scheme not in SCHEMES:
        raise InvalidRequestError(
            f"rate_limit_store must be a Redis URL (redis://host:6379/0, rediss://..., unix:///path), "
            f"not {redact_url(url) if isinstance(url, str) else url!r}"
        )
    return url


def redact_url(url: str) -> str:
    """The URL without its password (the user name is kept): safe for messages and reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _import_redis() -> Any:
    try:
        import redis.asyncio as aioredis
    except ImportError:
        raise InvalidRequestError(
            "a shared rate-limit store needs the redis extra: pip install 'voiceapi-async[redis]'"
        ) from None
    return aioredis


def _store_failures() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.RedisError, OSError)


class RedisBuckets:
    """The fast/slow buckets of one account in one Redis database.

    ``timeout`` bounds every call (connecting included).  ``now`` may be passed to the
    calls (tests with a fake clock); without it the Redis server's clock is used.
    """

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = check_store_url(url)
        self._redis_module = _import_redis()
        if not timeout > 0:
            raise InvalidRequestError(f"rate_limit_store_timeout must be a positive number of seconds, not {timeout!r}")
        self.timeout = float(timeout)
        self._client: Any = None
        self._reserve: Any = None
        self._pause: Any = None

    def __repr__(self) -> str:
        return f"RedisBuckets({redact_url(self.url)!r})"

    def _connect(self) -> Any:
        if self._client is None:
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            self._client = self._redis_module.Redis.from_url(
                self.url,
                socket_timeout=self.timeout,
                socket_connect_timeout=self.timeout,
                retry=Retry(NoBackoff(), 0),  # our own bound is the timeout; the caller decides what next
                decode_responses=True,
            )
            self._reserve = self._client.register_script(_RESERVE)
            self._pause = self._client.register_script(_PAUSE)
        return self._client

    async def _call(self, what: str, script: str, keys: list[str], args: list[Any]) -> Any:
        self._connect()
        runner = self._reserve if script == "reserve" else self._pause
        try:
            return await asyncio.wait_for(runner(keys=keys, args=args), self.timeout)
        except asyncio.TimeoutError:
            raise RateLimitStoreError(
                f"the shared rate-limit store {redact_url(self.url)} did not answer within {self.timeout:g} s "
                f"({what}); the request was not sent",
                store=redact_url(self.url),
            ) from None
        except _store_failures() as exc:
            raise RateLimitStoreError(
                f"the shared rate-limit store {redact_url(self.url)} failed ({what}): {type(exc).__name__}: "
                f"{_safe_text(exc, self.url)}; the request was not sent",
                store=redact_url(self.url),
            ) from None

    async def reserve(self, account: str, bucket: str, times: int, window: float, now: float | None) -> float:
        """Reserve the next send slot of ``bucket``; the seconds to wait for it."""
        log, pause = _keys(account, bucket)
        wait = await self._call("reserve", "reserve", [log, pause], [times, repr(window), _now_arg(now)])
        return max(0.0, float(wait))

    async def pause(self, account: str, bucket: str, seconds: float, now: float | None) -> None:
        """Hold every process's requests of ``bucket`` for ``seconds`` (a 429 arrived)."""
        _, pause = _keys(account, bucket)
        await self._call("pause", "pause", [pause], [repr(max(0.0, seconds)), _now_arg(now)])

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _keys(account: str, bucket: str) -> tuple[str, str]:
    # The hash tag keeps both keys of a bucket in one slot of a Redis Cluster.
    base = f"{KEY_PREFIX}:{{{account}:{bucket}}}"
    return base + ":log", base + ":pause"


def _now_arg(now: float | None) -> str:
    return "" if now is None or not math.isfinite(now) else repr(now)


def _safe_text(exc: BaseException, url: str) -> str:
    """The error's text with the store's password removed, should a driver quote the URL."""
    text = str(exc)
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text

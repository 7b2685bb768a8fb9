"""``VoiceClient``: the entry point, holding one transport and the resource clients."""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiofiles.os
import aiohttp

from ._auth import Credentials
from ._config import RetryPolicy, Timeout
from ._downloads import DownloadedFile, iter_chunks, server_filename, write_stream
from ._errors import APIConnectionError, APITimeoutError, InvalidRequestError
from ._models import Page
from ._ratelimit import Bucket, RateLimiter, RateLimits
from ._resources import (
    TTS,
    Accents,
    ApiKeys,
    Auth,
    Calibrations,
    Credits,
    Folders,
    Notes,
    Orders,
    Projects,
    Recordings,
    Stats,
    Voices,
)
from ._transport import (
    TIMEOUT_ERRORS,
    TRANSPORT_ERRORS,
    EventHook,
    Params,
    RawResponse,
    Request,
    Transport,
    capture_response,
)

__all__ = ["DEFAULT_BASE_URL", "VoiceClient"]

T = TypeVar("T")
DEFAULT_BASE_URL = "https://gateway.respeecher.com"
_UNSET: Any = object()


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequestError(f"base_url must be an http(s) URL, not {base_url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidRequestError(
            f"refusing plain http:// to {parts.hostname}: credentials would travel unencrypted; "
            "use https:// (plain http is allowed only for loopback hosts such as the emulator)"
        )
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class VoiceClient:
    """An asyncio client of the Voice Marketplace API.

    Use it as ``async with VoiceClient(api_key=...) as client:``, or create it once
    (e.g. at a web app's start-up) and ``await client.close()`` at shutdown.  One
    client holds one connection pool and one rate limiter, shared by every task
    that uses it.  ``api_key`` and ``base_url`` default to the ``VOICEAPI_API_KEY``
    and ``VOICEAPI_BASE_URL`` environment variables.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | None = None,
        connection_limit: int = 100,
        event_hooks: Sequence[EventHook] = (),
        _sleep: Callable[[float], Awaitable[None]] | None = None,
        _clock: Callable[[], float] | None = None,
        _rng: random.Random | None = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("VOICEAPI_API_KEY")
        base_url = _check_base_url(base_url or os.environ.get("VOICEAPI_BASE_URL") or DEFAULT_BASE_URL)
        self._timeout = _as_timeout(timeout) if timeout is not None else Timeout()
        retry = retry or RetryPolicy()
        if max_retries is not None:
            retry = _with_max_retries(retry, max_retries)
        self._retry = retry
        limiter = RateLimiter(rate_limits, clock=_clock, sleep=_sleep)
        self._transport = Transport(
            base_url=base_url,
            credentials=Credentials(api_key),
            limiter=limiter,
            connection_limit=connection_limit,
            hooks=event_hooks,
            sleep=_sleep,
            rng=_rng,
        )
        self._init_resources()

    def _init_resources(self) -> None:
        self.api_keys = ApiKeys(self)
        self.auth = Auth(self)
        self.calibrations = Calibrations(self)
        self.credits = Credits(self)
        self.projects = Projects(self)
        self.folders = Folders(self)
        self.recordings = Recordings(self)
        self.tts = TTS(self)
        self.notes = Notes(self)
        self.stats = Stats(self)
        self.orders = Orders(self)
        self.voices = Voices(self)
        self.accents = Accents(self)

    # -- configuration -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def rate_limiter(self) -> RateLimiter:
        """The limiter shared by this client and its ``with_options`` copies."""
        return self._transport.limiter

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._retry

    def with_options(
        self,
        *,
        timeout: Timeout | float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> VoiceClient:
        """A view of this client with other timeouts or retries, sharing its session and limits.

        >>> await client.with_options(timeout=5, max_retries=0).voices.list()
        """
        copy = object.__new__(VoiceClient)
        copy._transport = self._transport
        copy._timeout = _as_timeout(timeout) if timeout is not None else self._timeout
        policy = retry or self._retry
        copy._retry = _with_max_retries(policy, max_retries) if max_retries is not None else policy
        copy._init_resources()
        return copy

    def add_event_hook(self, hook: EventHook) -> None:
        """Observe every response, retry and connection error (e.g. to count 429s)."""
        self._transport.hooks.append(hook)

    def remove_event_hook(self, hook: EventHook) -> None:
        self._transport.hooks.remove(hook)

    capture_response = staticmethod(capture_response)

    async def adopt_account_rate_limits(self) -> RateLimits:
        """Set the client-side buckets to the account's own limits (``data.rate_limits``)."""
        user = await self.auth.me()
        current = self.rate_limiter.limits
        limits = RateLimits.from_user(user, max_in_flight=current.max_in_flight, headroom=current.headroom)
        self.rate_limiter.configure(limits)
        return limits

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._transport.closed

    async def close(self) -> None:
        """Close the connection pool.  Safe to call twice; later calls raise ``ClientClosedError``."""
        await self._transport.close()

    async def __aenter__(self) -> VoiceClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"VoiceClient(base_url={self.base_url!r}, credentials={self._transport.credentials!r})"

    # -- the helpers every resource uses -----------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        cast_to: type[T],
        *,
        params: Params = None,
        json: Any = None,
        body: Callable[[], aiohttp.MultipartWriter] | None = None,
        bucket: Bucket = "fast",
        idempotent: bool | None = None,
    ) -> T:
        req = Request(method, path, params=params, json=json, body=body, bucket=bucket, idempotent=idempotent)
        return await self._transport.request(req, cast_to=cast_to, timeout=self._timeout, retry=self._retry)

    async def _send(self, method: str, path: str, *, json: Any = None, idempotent: bool | None = None) -> RawResponse:
        """Like ``_request`` but returns the raw answer (status, headers, cookies, bytes)."""
        req = Request(method, path, json=json, idempotent=idempotent)
        return await self._transport.send(req, timeout=self._timeout, retry=self._retry)

    async def _paginate(
        self, list_page: Callable[..., Awaitable[Page[T]]], *, page_size: int, **filters: Any
    ) -> AsyncIterator[T]:
        """Every item of a list endpoint: ``list_page(limit=, offset=, **filters)`` page after page."""
        offset = 0
        while True:
            page = await list_page(limit=page_size, offset=offset, **filters)
            for item in page.list:
                yield item
            offset += len(page.list)
            if not page.list or offset >= page.pagination.count:
                return

    @asynccontextmanager
    async def _stream(self, method: str, url: str, *, params: Params = None, bucket: Bucket = "fast") -> Any:
        req = Request(method, url, params=params, bucket=bucket)
        async with self._transport.stream(req, timeout=self._timeout, retry=self._retry) as response:
            yield response

    async def _download(
        self,
        url: str,
        destination: str | os.PathLike[str],
        *,
        params: Params = None,
        bucket: Bucket = "fast",
        fallback_name: str = "download",
    ) -> DownloadedFile:
        """Download ``url`` to a file (or into a directory, under the server's file name).

        A connection that breaks mid-body is retried from the start, like any GET.
        """
        dest = Path(destination)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with self._stream("GET", url, params=params, bucket=bucket) as response:
                    is_dir = await aiofiles.os.path.isdir(dest)
                    target = dest / server_filename(response, fallback_name) if is_dir else dest
                    return await write_stream(response, target)
            except TRANSPORT_ERRORS as exc:
                if attempt > self._retry.max_retries:
                    path = urlsplit(url).path or url
                    cls = APITimeoutError if isinstance(exc, TIMEOUT_ERRORS) else APIConnectionError
                    raise cls(f"download failed: {type(exc).__name__}", method="GET", path=path) from exc
                await self._transport.sleep(self._retry.backoff(attempt))

    async def _iter_bytes(self, url: str, *, params: Params = None) -> AsyncIterator[bytes]:
        async with self._stream("GET", url, params=params) as response:
            async for chunk in iter_chunks(response):
                yield chunk


def _as_timeout(value: Timeout | float) -> Timeout:
    if isinstance(value, Timeout):
        return value
    if isinstance(value, (int, float)) and value > 0:
        return Timeout(connect=float(value), read=float(value), total=float(value))
    raise InvalidRequestError(f"timeout must be a Timeout or a positive number of seconds, not {value!r}")


def _with_max_retries(policy: RetryPolicy, max_retries: int) -> RetryPolicy:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(f"max_retries must be a non-negative integer, not {max_retries!r}")
    from dataclasses import replace

    return replace(policy, max_retries=max_retries)

"""``VoiceClient``: the entry point, holding one transport and the resource clients."""

from __future__ import annotations

import ipaddress
import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from ssl import SSLContext
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp

from ._auth import Credentials
from ._config import RetryPolicy, Timeout
from ._downloads import ByteStream, DownloadedFile, DownloadFolders, server_filename, write_stream
from ._errors import InvalidRequestError
from ._models import Health, Page
from ._pagination import AsyncPage, AsyncPaginator
from ._ratelimit import Bucket, RateLimiter, RateLimits, account_for_key
from ._resources import (
    TTS,
    Accents,
    ApiKeys,
    Auth,
    Calibrations,
    Credits,
    Folders,
    NarrationStyles,
    Notes,
    Orders,
    Projects,
    Recordings,
    Stats,
    Voices,
)
from ._transport import (
    AnswerHook,
    CallOptions,
    EventHook,
    Params,
    RawResponse,
    Request,
    Transport,
    _query_string,
    capture_response,
)

__all__ = ["DEFAULT_BASE_URL", "VoiceClient"]

T = TypeVar("T")
DEFAULT_BASE_URL = "https://gateway.respeecher.com"
_UNSET: Any = object()


def _check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if "@" in parts.netloc:  # the URL is not repeated: it holds a secret
        raise InvalidRequestError(
            "base_url must not carry credentials (user:password@host): it shows in reprs, messages "
            "and logs; pass api_key=, or default_headers= for a gateway's own header"
        )
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
    client holds one connection pool and one rate limiter per API key (its own and
    each ``with_options(api_key=...)`` tenant's), shared by every task that uses it.  ``api_key`` and ``base_url`` default to the ``VOICEAPI_API_KEY``
    and ``VOICEAPI_BASE_URL`` environment variables.

    ``rate_limit_store`` (default: the ``VOICEAPI_RATE_LIMIT_URL`` environment variable)
    is a Redis URL (``redis://host:6379/0``) where the rate-limit buckets live, shared by
    every process and machine using one account: see "Scaling out" in the README.  It
    needs the ``redis`` extra; each call to it is bounded by ``rate_limit_store_timeout``,
    and a failure raises ``RateLimitStoreError`` without sending the request.
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
        rate_limit_store: str | None = None,
        rate_limit_store_timeout: float = 5.0,
        connection_limit: int = 100,
        event_hooks: Sequence[EventHook] = (),
        session: aiohttp.ClientSession | None = None,
        connector: aiohttp.BaseConnector | None = None,
        trust_env: bool = True,
        proxy: str | None = None,
        ssl: SSLContext | bool = True,
        default_headers: Mapping[str, str] | None = None,
        _sleep: Callable[[float], Awaitable[None]] | None = None,
        _clock: Callable[[], float] | None = None,
        _rng: random.Random | None = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("VOICEAPI_API_KEY")
        base_url = _check_base_url(base_url or os.environ.get("VOICEAPI_BASE_URL") or DEFAULT_BASE_URL)
        if session is not None and connector is not None:
            raise InvalidRequestError("pass session= or connector=, not both (the session has its connector)")
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise InvalidRequestError(f"session must be an aiohttp.ClientSession, not {type(session).__name__}")
        retry = retry or RetryPolicy()
        if max_retries is not None:
            retry = _with_max_retries(retry, max_retries)
        credentials = Credentials(api_key)
        store = rate_limit_store if rate_limit_store is not None else os.environ.get("VOICEAPI_RATE_LIMIT_URL")
        limiter = RateLimiter(
            rate_limits,
            clock=_clock,
            sleep=_sleep,
            store=store or None,
            store_timeout=rate_limit_store_timeout,
            account=account_for_key(api_key),
        )
        self._options = CallOptions(
            timeout=_as_timeout(timeout) if timeout is not None else Timeout(),
            retry=retry,
            credentials=credentials,
            limiter=limiter,
            headers=_headers({"Accept": "application/json"}, default_headers, "default_headers"),
        )
        self._transport = Transport(
            base_url=base_url,
            credentials=credentials,
            limiter=limiter,
            connection_limit=connection_limit,
            hooks=event_hooks,
            sleep=_sleep,
            clock=_clock,
            rng=_rng,
            session=session,
            connector=connector,
            trust_env=trust_env,
            proxy=proxy,
            ssl=ssl,
        )
        self._folders = DownloadFolders()
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
        self.narration_styles = NarrationStyles(self)

    # -- configuration -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def rate_limiter(self) -> RateLimiter:
        """This view's limiter: shared with every ``with_options`` view with the same API key.

        A view with another key (another account, e.g. another tenant) has its own, as the
        server counts each account's requests separately.
        """
        return self._options.limiter

    @property
    def timeout(self) -> Timeout:
        return self._options.timeout

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._options.retry

    @property
    def has_api_key(self) -> bool:
        """Whether this client (view) holds an API key (``False`` after ``api_keys.delete()``)."""
        return self._options.credentials.has_api_key

    def with_options(
        self,
        *,
        api_key: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, Any] | None = None,
        timeout: Timeout | float | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> VoiceClient:
        """A lightweight view of this client with other options, sharing its session and pool.

        ``api_key`` gives the view its own key (e.g. one tenant's, in a multi-tenant
        backend) and that key's own rate limiter and in-flight cap (the server limits each
        account separately), shared by every view with the same key; without ``api_key``
        the view shares this client's.  ``extra_headers`` and ``extra_query`` are added to each of its calls to the
        API (never to another origin); ``timeout`` and ``max_retries``/``retry`` replace
        the client's.  Closing a view closes the shared session.

        >>> await client.with_options(timeout=5, max_retries=0).voices.list()
        >>> tenant = client.with_options(api_key=tenant_key, extra_headers={"X-Request-Source": "web"})
        """
        opts = self._options
        if api_key is not None and (not isinstance(api_key, str) or not api_key):
            raise InvalidRequestError("api_key must be a non-empty string")
        policy = retry or opts.retry
        query = _query_string(extra_query) if extra_query else ""
        copy = object.__new__(VoiceClient)
        copy._transport = self._transport
        copy._folders = self._folders
        copy._options = CallOptions(
            timeout=_as_timeout(timeout) if timeout is not None else opts.timeout,
            retry=_with_max_retries(policy, max_retries) if max_retries is not None else policy,
            credentials=Credentials(api_key) if api_key is not None else opts.credentials,
            limiter=self._transport.limiter_for(api_key) if api_key is not None else opts.limiter,
            headers=_headers(opts.headers, extra_headers, "extra_headers"),
            query=f"{opts.query}&{query}" if opts.query and query else opts.query or query,
        )
        copy._init_resources()
        return copy

    def _use_new_api_key(self, api_key: str) -> None:
        """``api_keys.create()``: the account's new key replaces the old one in this view's credentials
        (and in every view sharing them); views made with it later share this view's limiter."""
        self._options.credentials.use_api_key(api_key)
        self._transport.key_rotated(api_key, self._options.limiter)

    def add_event_hook(self, hook: EventHook) -> None:
        """Observe every response, retry and connection error (e.g. to count 429s)."""
        self._transport.hooks.append(hook)

    def remove_event_hook(self, hook: EventHook) -> None:
        self._transport.hooks.remove(hook)

    def add_answer_hook(self, hook: AnswerHook) -> None:
        """Count every attempt: ``hook(method, path, status)``, ``status`` ``None`` for a broken connection.

        The cheap kind of hook, for counters (a job counts each of its answers): no ``HTTPEvent``
        is built and nothing is timed for it, where an event hook costs about as much CPU as the
        rest of the client's work on a small answer.
        """
        self._transport.answer_hooks.append(hook)

    def remove_answer_hook(self, hook: AnswerHook) -> None:
        self._transport.answer_hooks.remove(hook)

    capture_response = staticmethod(capture_response)

    async def health(self) -> Health:
        """``GET /api/healtz``: the service's health, for a web backend's readiness probe.

        Sent without credentials (it needs none).  Raises like any call when the service cannot answer; for a
        quick probe use ``client.with_options(timeout=2, max_retries=0).health()``.
        """
        return await self._request("GET", "/api/healtz", Health, authenticated=False)

    async def adopt_account_rate_limits(self) -> RateLimits:
        """Set the client-side buckets to the account's own limits (``data.rate_limits``).

        With a shared store, the buckets are named after the account's id from then on,
        so every key of one account shares one budget.
        """
        user = await self.auth.me()
        current = self.rate_limiter.limits
        limits = RateLimits.from_user(user, max_in_flight=current.max_in_flight, headroom=current.headroom)
        self.rate_limiter.configure(limits, account=f"user-{user.id}")
        return limits

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._transport.closed

    async def close(self) -> None:
        """Close the connection pool (not a ``session=`` passed in: its owner closes it).

        Safe to call twice; later calls raise ``ClientClosedError``.
        """
        await self._transport.close()

    async def __aenter__(self) -> VoiceClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"VoiceClient(base_url={self.base_url!r}, credentials={self._options.credentials!r})"

    # -- the helpers every resource uses -----------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        cast_to: type[T],
        *,
        params: Params = None,
        json: Any = None,
        body: Callable[[], aiohttp.payload.Payload] | None = None,
        bucket: Bucket = "fast",
        idempotent: bool | None = None,
        authenticated: bool = True,
    ) -> Awaitable[T]:
        """The transport's coroutine for one call (returned, not awaited here: one frame less per call, B1)."""
        req = Request(
            method,
            path,
            params=params,
            json=json,
            body=body,
            bucket=bucket,
            idempotent=idempotent,
            authenticated=authenticated,
        )
        return self._transport.request(req, cast_to=cast_to, opts=self._options)

    async def _send(
        self, method: str, path: str, *, json: Any = None, idempotent: bool | None = None, authenticated: bool = True
    ) -> RawResponse:
        """Like ``_request`` but returns the raw answer (status, headers, cookies, bytes)."""
        req = Request(method, path, json=json, idempotent=idempotent, authenticated=authenticated)
        return await self._transport.send(req, opts=self._options)

    def _paginate(
        self, path: str, item: type[T], params: dict[str, Any], *, default_limit: int = 50
    ) -> AsyncPaginator[T]:
        """``GET path`` page after page: ``params`` are checked already and hold ``limit`` and ``offset``.

        ``default_limit`` is the server's page size when no ``limit`` is sent (only a bare-list
        answer, which says nothing of what follows, needs it).
        """
        answer_type = _page_answer(item)
        limit = params.get("limit")
        if limit is None:
            limit = default_limit

        async def fetch(offset: int | None) -> AsyncPage[T]:
            query = params if offset is None else {**params, "offset": offset}
            answer = await self._request("GET", path, answer_type, params=query)
            return AsyncPage.of(answer, limit=limit, offset=query.get("offset") or 0, fetch=fetch)

        return AsyncPaginator(fetch)

    @asynccontextmanager
    async def _stream(self, url: str, *, params: Params = None, bucket: Bucket = "fast") -> AsyncIterator[ByteStream]:
        """An open download for ``async with``: its slot and connection are released on exit."""
        req = Request("GET", url, params=params, bucket=bucket)
        async with self._transport.stream(req, opts=self._options) as response:
            stream = ByteStream(response, "GET", _shown_path(url))
            try:
                yield stream
            finally:
                stream.close()

    async def _download(
        self,
        url: str,
        destination: str | os.PathLike[str],
        *,
        params: Params = None,
        bucket: Bucket = "fast",
        fallback_name: str = "download",
    ) -> DownloadedFile:
        """Download ``url`` to a file, or into a directory under the server's file name.

        ``destination`` is a directory when it exists as one or ends with a path separator
        (then it is created if missing, as is a file's missing folder).  A connection that
        breaks mid-body is retried from the start by the transport, like any GET.
        """
        folder = await self._folders.check(destination)  # before the request; once per folder

        async def write(response: aiohttp.ClientResponse) -> DownloadedFile:
            return await write_stream(response, destination, name_in_dir=server_filename(response, fallback_name))

        req = Request("GET", url, params=params, bucket=bucket)
        try:
            return await self._transport.consume(req, write, opts=self._options)
        except (FileExistsError, NotADirectoryError):  # a checked folder replaced by a file since
            raise self._folders.refused(folder) from None

    async def _iter_bytes(self, url: str, *, params: Params = None) -> AsyncIterator[bytes]:
        async with self._stream(url, params=params) as stream:
            async for chunk in stream.iter_bytes():
                yield chunk


_page_answers: dict[Any, Any] = {}


def _page_answer(item: Any) -> Any:
    """What a list endpoint may answer: a page object or a bare list (one type object per item type)."""
    answer = _page_answers.get(item)
    if answer is None:
        answer = _page_answers[item] = Page[item] | list[item]  # type: ignore[valid-type]
    return answer


def _shown_path(url: str) -> str:
    """The path of ``url`` for messages: never its query (a signed URL's signature)."""
    return urlsplit(url).path or url


def _as_timeout(value: Timeout | float) -> Timeout:
    if isinstance(value, Timeout):
        return value
    if isinstance(value, (int, float)) and value > 0:
        return Timeout(connect=float(value), read=float(value), total=float(value), pool=float(value))
    raise InvalidRequestError(f"timeout must be a Timeout or a positive number of seconds, not {value!r}")


def _headers(base: Mapping[str, str], extra: Mapping[str, str] | None, name: str) -> dict[str, str]:
    """``base`` updated with ``extra``, checked: header names and values are strings."""
    merged = dict(base)
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or not isinstance(value, str) or not key:
            raise InvalidRequestError(f"{name} must map header names to string values; {key!r} does not")
        merged[key] = value
    return merged


def _with_max_retries(policy: RetryPolicy, max_retries: int) -> RetryPolicy:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise InvalidRequestError(f"max_retries must be a non-negative integer, not {max_retries!r}")
    from dataclasses import replace

    return replace(policy, max_retries=max_retries)

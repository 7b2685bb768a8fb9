"""The one place that speaks HTTP: session, auth headers, retries, rate limits, errors.

Resources describe *what* to call (method, path, params, body, bucket, idempotency);
this module decides *how*: it owns the ``aiohttp.ClientSession``, waits for the rate
limiter, retries what is safe to retry, maps failures to the typed errors of
``_errors`` and decodes answers straight from bytes with cached msgspec decoders.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import platform
import random
import time
import urllib.request
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from ssl import SSLContext
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import msgspec
from multidict import CIMultiDictProxy
from yarl import URL

from ._auth import Credentials
from ._config import RETRYABLE_STATUSES, RetryPolicy, Timeout, parse_retry_after
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    PoolTimeoutError,
    RateLimitError,
    RedirectError,
    VoiceAPIError,
    cut_server_text,
    describe_detail,
    redact_secrets,
    status_error_class,
)
from ._models import ErrorBody, OkResponse
from ._ratelimit import Bucket, InFlightSlots, RateLimiter, account_for_key
from ._version import __version__

__all__ = [
    "TIMEOUT_ERRORS",
    "TRANSPORT_ERRORS",
    "AnswerHook",
    "CallOptions",
    "HTTPEvent",
    "RawResponse",
    "Request",
    "Transport",
    "capture_response",
    "decode_answer",
]

#: Before Python 3.11 ``asyncio.TimeoutError`` and the builtin ``TimeoutError`` are distinct.
TIMEOUT_ERRORS = (asyncio.TimeoutError, TimeoutError)
#: What a broken connection or a timeout raises from aiohttp.
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError)

T = TypeVar("T")
log = logging.getLogger("voiceapi_async")

USER_AGENT = f"voiceapi-async/{__version__} Python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
Sleep = Callable[[float], Awaitable[None]]
Params = Mapping[str, Any] | Sequence[tuple[str, Any]] | None


@functools.cache
def decoder_for(type_: Any) -> msgspec.json.Decoder[Any]:
    """One cached decoder per response type: decoding goes straight from bytes."""
    return msgspec.json.Decoder(type_)


_error_decoder = msgspec.json.Decoder(ErrorBody)
_encoder = msgspec.json.Encoder()


#: What an acknowledgement may be besides ``{"detail": "OK"}``: ``null``, ``true`` or a string.
_ACK_TYPE: Any = OkResponse | bool | str | None
_NONE_TYPE = type(None)
#: ``cast_to`` of the retry loop for a success left open for streaming (``Transport.stream``).
_OPEN: Any = object()


def decode_answer(
    content: bytes,
    cast_to: type[T],
    status: int,
    method: str,
    path: str,
    secrets: Callable[[], Iterable[str]] = tuple,
) -> T:
    """Decode a success's body as ``cast_to``: the one place every answer is decoded.

    A body that does not decode raises ``APIResponseValidationError`` (the server acted),
    its preview redacted of ``secrets()`` (the client's own) and of secret-looking values.
    Acknowledgements (``OkResponse``) also accept an empty body (e.g. 204), ``null``,
    ``true`` and a bare string.
    """
    if cast_to is _NONE_TYPE:
        return None  # type: ignore[return-value]
    try:
        if cast_to is OkResponse:
            return _acknowledgement(content)  # type: ignore[return-value]
        return decoder_for(cast_to).decode(content)  # type: ignore[no-any-return,arg-type]
    except msgspec.DecodeError as exc:
        raise APIResponseValidationError(
            str(exc),
            status_code=status,
            method=method,
            path=path,
            body=content,
            expected=_type_name(cast_to),
            secrets=secrets(),
        ) from None


def _acknowledgement(content: bytes) -> OkResponse:
    if not content.strip():
        return OkResponse()
    answer = decoder_for(_ACK_TYPE).decode(content)
    if isinstance(answer, OkResponse):
        return answer
    if answer is None or answer is True:
        return OkResponse()
    if isinstance(answer, str):
        return OkResponse(detail=answer)
    raise msgspec.ValidationError(f"Expected an acknowledgement (an object, null, true or a string), got `{answer!r}`")


def _type_name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or str(type_).replace("voiceapi_async._models.", "")


@dataclass(slots=True)
class Request:
    """What a resource asks for.  ``body`` builds a fresh multipart body per attempt."""

    method: str
    path: str
    params: Params = None
    json: Any = None
    body: Callable[[], aiohttp.payload.Payload] | None = None
    bucket: Bucket = "fast"
    idempotent: bool | None = None
    #: False for the calls that must work without credentials (login).
    authenticated: bool = True

    def is_idempotent(self) -> bool:
        """Whether sending it twice is harmless: ``idempotent`` if given, else every method but POST."""
        return self.method != "POST" if self.idempotent is None else self.idempotent


@dataclass(frozen=True)
class CallOptions:
    """What one client view adds to each of its calls (``VoiceClient.with_options`` makes others).

    ``headers`` (``Accept``, ``default_headers``, ``extra_headers``) and ``query`` (the
    encoded ``extra_query``) go to the API's origin only, like the credentials.
    """

    timeout: Timeout
    retry: RetryPolicy
    credentials: Credentials
    #: The account's client-side limits: one per API key (``Transport.limiter_for``).
    limiter: RateLimiter
    headers: dict[str, str] = field(default_factory=lambda: {"Accept": "application/json"}, repr=False)
    query: str = field(default="", repr=False)


@dataclass(slots=True)
class RawResponse:
    """The status and headers of an answer, for callers who need more than the model.

    (Not frozen: it is built for every answer, and a frozen dataclass costs more to make.)
    """

    status: int
    headers: CIMultiDictProxy[str]
    method: str
    path: str
    elapsed: float
    attempts: int
    content: bytes = field(default=b"", repr=False)
    cookies: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (
            f"RawResponse(status={self.status}, method={self.method!r}, path={self.path!r}, attempts={self.attempts})"
        )


@dataclass(frozen=True)
class HTTPEvent:
    """One observable step: ``response`` (any status), ``retry`` (about to wait), ``error``."""

    kind: str
    method: str
    path: str
    attempt: int
    status: int | None = None
    elapsed: float = 0.0
    delay: float | None = None
    bucket: Bucket = "fast"
    error: str | None = None

    def __init__(
        self,
        kind: str,
        method: str,
        path: str,
        attempt: int,
        status: int | None = None,
        elapsed: float = 0.0,
        delay: float | None = None,
        bucket: Bucket = "fast",
        error: str | None = None,
    ) -> None:
        # The frozen dataclass's own ``__init__`` sets each field through ``object.__setattr__``:
        # 15,900 instructions an event (one per answer while a job counts them), this 7,600.
        self.__dict__.update(
            kind=kind,
            method=method,
            path=path,
            attempt=attempt,
            status=status,
            elapsed=elapsed,
            delay=delay,
            bucket=bucket,
            error=error,
        )


EventHook = Callable[[HTTPEvent], None]
#: Told ``(method, path, status)`` once per attempt: its answer's status, or ``None`` when the
#: connection failed before one.  No event is built and nothing is timed for it: a counter's hook.
AnswerHook = Callable[[str, str, "int | None"], None]


class _Capture:
    def __init__(self) -> None:
        self.response: RawResponse | None = None
        self.responses: list[RawResponse] = []


_capture_var: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar("voiceapi_capture", default=None)


class capture_response:
    """Capture the raw answers of the calls made inside the block, in this task only.

    >>> with client.capture_response() as captured:
    ...     voices = await client.voices.list()
    >>> captured.response.status, captured.response.headers["content-type"]
    """

    def __enter__(self) -> _Capture:
        self._capture = _Capture()
        self._token = _capture_var.set(self._capture)
        return self._capture

    def __exit__(self, *exc: object) -> None:
        _capture_var.reset(self._token)


#: The connection could not be opened: the request provably never reached the server.
_CONNECT_ERRORS = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
#: ... because of the TLS set-up, which trying again will not fix.
_CERTIFICATE_ERRORS = (aiohttp.ClientConnectorCertificateError, aiohttp.ClientSSLError)
#: Redirects are followed by the transport (never by aiohttp), hop by hop: see ``_follow``.
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
#: How many other API keys' limiter states a client keeps while no view uses them (see ``limiter_for``).
REMEMBERED_KEYS = 1024


def _query_string(params: Params) -> str:
    """Query parameters: ``None`` dropped, lists repeated, bools lower-case, enums by value.

    Encoded here into the URL string rather than handed to aiohttp as ``params``: merging
    a query into a parsed URL costs more than the rest of our per-call work (benchmark B1).
    """
    if not params:
        return ""
    # ``type(...) is dict`` first: the ABC check costs more than the rest of this function.
    items = params.items() if type(params) is dict or isinstance(params, Mapping) else params
    parts: list[str] = []
    for key, value in items:
        if value is None:
            continue
        for v in value if isinstance(value, (list, tuple)) else (value,):
            kind = type(v)
            if kind is int or kind is str:  # most values: no enum or bool lookups (B1)
                text = str(v)
            else:
                text = ("true" if v else "false") if kind is bool else str(getattr(v, "value", v))
            parts.append(f"{key}={text if text.isascii() and text.isalnum() else quote(text, safe='')}")
    return "&".join(parts)


class Transport:
    """Owns the HTTP session of one client.  Shared by its ``with_options`` copies."""

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Credentials,
        limiter: RateLimiter,
        connection_limit: int = 100,
        hooks: Sequence[EventHook] = (),
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        rng: random.Random | None = None,
        session: aiohttp.ClientSession | None = None,
        connector: aiohttp.BaseConnector | None = None,
        trust_env: bool = True,
        proxy: str | None = None,
        ssl: SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(URL(self.base_url))
        self.credentials = credentials  # the root client's; a view may carry others (``CallOptions``)
        self.limiter = limiter  # the root client's; a view with another key has another (``limiter_for``)
        self._limiters: weakref.WeakValueDictionary[str, RateLimiter] = weakref.WeakValueDictionary(
            {limiter.account: limiter}
        )
        self._recent_limiters: OrderedDict[str, RateLimiter] = OrderedDict()
        self.hooks = list(hooks)
        self.answer_hooks: list[AnswerHook] = []
        self._connection_limit = connection_limit
        self._sleep: Sleep = sleep or asyncio.sleep
        self._clock: Callable[[], float] = clock or time.monotonic
        self._rng = rng or random.Random()
        self._owns_session = session is None
        self._connector = connector
        self._trust_env = trust_env
        self._proxy_option = proxy
        self._proxy = proxy  # for our origin: the option, else (trust_env) the environment's, once
        self._env_proxies: dict[str, str] | None = None
        self._ssl = ssl
        self._session: aiohttp.ClientSession | None = session
        self._foreign_session: aiohttp.ClientSession | None = None
        self._closed = False
        #: Per path, the method a 405 taught this client to use instead of the documented one.
        self.learned_methods: dict[str, str] = {}

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def owns_session(self) -> bool:
        """False when the caller passed ``session=``: it is theirs to close."""
        return self._owns_session

    async def sleep(self, seconds: float) -> None:
        """The (injectable) sleep used between retries and polls."""
        await self._sleep(seconds)

    def clock(self) -> float:
        """The (injectable) monotonic clock that deadlines are measured on."""
        return self._clock()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this VoiceClient is closed; create a new one or use `async with`")
        if self._session is None:
            connector = self._connector or aiohttp.TCPConnector(
                limit=self._connection_limit, ttl_dns_cache=300, keepalive_timeout=30
            )
            if self._proxy is None and self._trust_env:
                self._proxy = self._proxy_from_env(URL(self.base_url))
            self._session = aiohttp.ClientSession(
                connector=connector,
                connector_owner=self._connector is None,  # a connector passed in stays its owner's
                cookie_jar=aiohttp.DummyCookieJar(),  # the session cookie is managed explicitly
                headers={"User-Agent": USER_AGENT},
                raise_for_status=False,
                # The environment is read once, here (as httpx does): aiohttp's trust_env
                # would look up proxies and .netrc in a worker thread on every request.
                trust_env=False,
            )
        return self._session

    def _proxy_from_env(self, url: URL) -> str | None:
        """``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` for ``url``, unless ``NO_PROXY`` exempts its host."""
        if self._env_proxies is None:
            self._env_proxies = urllib.request.getproxies_environment()
        proxies = self._env_proxies
        if not proxies or not url.host:
            return None
        proxy = proxies.get(url.scheme) or proxies.get("all")
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if proxy is None or bypass(url.host, proxies):
            return None
        return proxy

    def _foreign_proxy(self, url: str) -> str | None:
        """The proxy for a request to another origin (an explicit ``proxy=`` applies to all)."""
        if self._proxy_option is not None or not self._trust_env or not self._owns_session:
            return self._proxy_option
        return self._proxy_from_env(URL(url))

    def _credential_free_session(self) -> aiohttp.ClientSession:
        """The session for other origins (a storage bucket's signed URL): same pool, nothing of ours.

        No cookie jar, no default headers or auth of the main session: whatever the main
        session carries stays with the API's origin.
        """
        if self._foreign_session is None:
            main = self._ensure_session()
            self._foreign_session = aiohttp.ClientSession(
                connector=main.connector,
                connector_owner=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": USER_AGENT},
                raise_for_status=False,
                trust_env=main.trust_env,
            )
        return self._foreign_session

    async def close(self) -> None:
        """Close the session; safe to call more than once."""
        self._closed = True
        foreign, self._foreign_session = self._foreign_session, None
        if foreign is not None:
            await foreign.close()
        session, self._session = self._session, None
        if session is not None and self._owns_session:
            await session.close()
        await self.limiter.aclose()

    def limiter_for(self, api_key: str) -> RateLimiter:
        """The client-side limiter of the account behind ``api_key`` (``with_options(api_key=...)``).

        The server limits each account on its own, so each key gets its own buckets and
        in-flight cap, and every view with that key shares them (the root client's key
        maps to its own limiter).  Limiters in use by a view are kept; of the others,
        those of the ``REMEMBERED_KEYS`` most recently used keys (a view per request
        must not start from empty buckets each time).
        """
        name = account_for_key(api_key)
        limiter = self._limiters.get(name)
        if limiter is None:
            limiter = self._limiters[name] = self.limiter.for_account(name)
        self._remember(name, limiter)
        return limiter

    def key_rotated(self, api_key: str, limiter: RateLimiter) -> None:
        """``api_key`` replaced the key of ``limiter``'s account (``api_keys.create()``): views with it share it."""
        name = account_for_key(api_key)
        self._limiters[name] = limiter
        self._remember(name, limiter)

    def _remember(self, name: str, limiter: RateLimiter) -> None:
        if limiter is not self.limiter:
            recent = self._recent_limiters
            recent[name] = limiter
            recent.move_to_end(name)
            if len(recent) > REMEMBERED_KEYS:
                recent.popitem(last=False)

    # -- requests ----------------------------------------------------------------------

    def request(self, req: Request, *, cast_to: type[T], opts: CallOptions) -> Awaitable[T]:
        """Send ``req`` and decode its answer as ``cast_to``.

        Returns the retry loop's own coroutine: one coroutine frame per call, not two (B1).
        """
        return self._retrying(req, opts, cast_to)

    async def send(self, req: Request, *, opts: CallOptions) -> RawResponse:
        """Send ``req`` with retries; return the whole answer read into memory."""
        raw: RawResponse = await self._retrying(req, opts, RawResponse)
        return raw

    @asynccontextmanager
    async def stream(self, req: Request, *, opts: CallOptions) -> AsyncIterator[aiohttp.ClientResponse]:
        """Send ``req`` with retries; yield the open response of a success for streaming.

        The request keeps its in-flight slot until the block ends.
        """
        opened: tuple[aiohttp.ClientResponse, InFlightSlots] = await self._retrying(req, opts, _OPEN)
        response, in_flight = opened
        try:
            yield response
        finally:
            response.release()
            in_flight.release()  # the very slots acquired from, even if the limits changed since

    async def consume(
        self, req: Request, consume: Callable[[aiohttp.ClientResponse], Awaitable[T]], *, opts: CallOptions
    ) -> T:
        """Stream ``req``'s answer into ``consume`` (e.g. a file writer) and return its result.

        A connection that breaks mid-body is retried from the start under the same policy,
        events, jitter and sleep as every other retry (idempotent requests only).
        """
        path = self._url(req.path)[1]
        retry = opts.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                # What ``stream`` does, without its ``asynccontextmanager`` (an async generator
                # and its protocol per download: B6).
                opened: tuple[aiohttp.ClientResponse, InFlightSlots] = await self._retrying(req, opts, _OPEN)
                response, in_flight = opened
                try:
                    return await consume(response)
                finally:
                    response.release()
                    in_flight.release()
            except TRANSPORT_ERRORS as exc:
                name = type(exc).__name__
                cls = APITimeoutError if isinstance(exc, TIMEOUT_ERRORS) else APIConnectionError
                error = cls(f"download failed: {name}", method=req.method, path=path)
                # The attempt had its answer, and was counted then: its retry or error is not another.
                if req.is_idempotent() and attempt <= retry.max_retries:
                    await self._wait_retry(req, path, attempt, retry, error, counted=True)
                    continue
                event = HTTPEvent("error", req.method, path, attempt, bucket=req.bucket, error=str(error))
                self._emit(event, counted=True)
                raise error from exc

    async def _retrying(self, req: Request, opts: CallOptions, cast_to: Any) -> Any:
        """The retry loop, the one for every call.  What it returns depends on ``cast_to``:

        a type: the answer decoded as that type; ``RawResponse``: the whole answer read into
        memory; ``_OPEN``: a success still open, and the in-flight slots it holds one of.

        Each attempt waits for its rate-limit slot and holds an in-flight slot until its
        answer is read.  This is the hot path (benchmark B1): the ``RawResponse`` is built
        only when asked for or captured, and events and timings only when observed.
        """
        url, path, same_origin = self._url(req.path)
        timeout, retry = opts.timeout, opts.retry
        limiter = opts.limiter
        stream = cast_to is _OPEN
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            session = self._ensure_session()
            if limiter.active:
                await limiter.acquire(req.bucket)
            in_flight = limiter.slot()
            if not in_flight.try_acquire():  # only then a wait, bounded (which costs a timer)
                await self._wait_for_slot(limiter, in_flight, req, path, timeout)
            observed = bool(self.hooks) or log.isEnabledFor(logging.DEBUG)
            keep_slot = False
            error: VoiceAPIError
            try:
                sent_at = time.monotonic() if observed else started
                response = await self._start(session, req, url, opts, same_origin, stream)
                if response.status in _REDIRECTS:
                    response = await self._follow(response, req, path, opts, same_origin, stream)
                status = response.status
                if stream and status < 400:
                    if self.answer_hooks:
                        self._count(req.method, path, status)
                    if observed:
                        self._observe(req, path, attempt, status, time.monotonic() - sent_at)
                    keep_slot = True
                    return response, in_flight
                try:
                    content = await response.read()
                finally:
                    response.release()
            except _CERTIFICATE_ERRORS as exc:  # a broken TLS set-up is not fixed by trying again
                error, retryable = self._connection_error(exc, req, path, sent=False), False
            except _CONNECT_ERRORS as exc:  # the request provably never left: safe to resend
                error, retryable = self._connection_error(exc, req, path, sent=False), True
            except TRANSPORT_ERRORS as exc:
                error, retryable = self._connection_error(exc, req, path, sent=True), req.is_idempotent()
            else:
                if self.answer_hooks:
                    self._count(req.method, path, status)
                if observed:
                    self._observe(req, path, attempt, status, time.monotonic() - sent_at)
                raw = None
                if cast_to is RawResponse or _capture_var.get() is not None:
                    raw = self._raw(response, content, req, path, attempt, started)
                if status < 400:
                    if cast_to is RawResponse:
                        return raw
                    return decode_answer(content, cast_to, status, req.method, path, opts.credentials.secrets)
                status_error = self._status_error(req, path, status, response.headers, content, opts.credentials)
                error = status_error
                retryable = status in RETRYABLE_STATUSES and (status == 429 or req.is_idempotent())
                if status == 429:
                    retry_after = getattr(status_error, "retry_after", None)
                    await limiter.penalize(req.bucket, retry.delay(attempt, retry_after, self._rng))
            finally:
                if not keep_slot:
                    in_flight.release()
            if retryable and attempt <= retry.max_retries:
                await self._wait_retry(req, path, attempt, retry, error)
                continue
            if isinstance(error, APIConnectionError):
                self._emit(HTTPEvent("error", req.method, path, attempt, bucket=req.bucket, error=str(error)))
            raise error

    @staticmethod
    def _raw(
        response: aiohttp.ClientResponse, content: bytes, req: Request, path: str, attempt: int, started: float
    ) -> RawResponse:
        """The answer as a ``RawResponse`` (for ``send`` and ``capture_response``), recorded if captured."""
        headers = response.headers
        raw = RawResponse(
            response.status,
            headers,
            req.method,
            path,
            time.monotonic() - started,
            attempt,
            content,
            {name: m.value for name, m in response.cookies.items()} if "Set-Cookie" in headers else {},
        )
        capture = _capture_var.get()
        if capture is not None:
            capture.response = raw
            capture.responses.append(raw)
        return raw

    def _observe(self, req: Request, path: str, attempt: int, status: int, elapsed: float) -> None:
        if self.hooks:
            self._emit(HTTPEvent("response", req.method, path, attempt, status, elapsed, bucket=req.bucket))
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.1f ms (attempt %d)", req.method, path, status, elapsed * 1000, attempt)

    def _start(
        self,
        session: aiohttp.ClientSession,
        req: Request,
        url: str,
        opts: CallOptions,
        same_origin: bool,
        stream: bool,
        *,
        method: str | None = None,
        with_body: bool = True,
    ) -> Awaitable[aiohttp.ClientResponse]:
        """Begin the request (awaited by the caller, so no extra coroutine frame on the hot path).

        Only a request to our own origin carries credentials, default and extra headers and
        the extra query, and it goes through the main session; any other origin gets the
        credential-free session (no cookies either).
        """
        query = _query_string(req.params) if req.params else ""
        if same_origin:
            headers = opts.headers.copy()
            if req.authenticated:
                headers.update(opts.credentials.headers())
            if opts.query:
                query = f"{query}&{opts.query}" if query else opts.query
            proxy = self._proxy
        else:
            headers = {"Accept": "application/json"}
            session = self._credential_free_session()
            proxy = self._foreign_proxy(url)
        data: Any = None
        if not with_body:
            pass
        elif req.json is not None:
            data = _encoder.encode(req.json)
            headers["Content-Type"] = "application/json"
        elif req.body is not None:
            data = req.body()
        if query:
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        # A small body is sent as quickly as a JSON call's: one deadline for the whole
        # request rather than a read timer re-armed per chunk (B6: an upload per file).
        if stream or (data is not None and type(data) is not bytes and not _small_payload(data)):
            limits = opts.timeout.for_streams
        else:
            limits = opts.timeout.for_answers
        return session.request(
            method or req.method,
            url,
            data=data,
            headers=headers,
            timeout=limits,
            allow_redirects=False,
            proxy=proxy,
            ssl=self._ssl,
            # A ``session=`` passed in may say otherwise; our errors and decoding need these.
            raise_for_status=False,
            auto_decompress=True,
        )

    async def _wait_for_slot(
        self, limiter: RateLimiter, in_flight: InFlightSlots, req: Request, path: str, timeout: Timeout
    ) -> None:
        """Wait for an in-flight slot at most ``timeout.pool`` seconds: never forever.

        The bound is a race between the slot and the client's (injectable) sleep, so it
        runs on the same clock as retries and polls (tests drive it with fake time).
        """
        if timeout.pool is None:
            await in_flight.acquire()
            return
        acquire = asyncio.ensure_future(in_flight.acquire())
        timer = asyncio.ensure_future(self._sleep(timeout.pool))
        try:
            await asyncio.wait((acquire, timer), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled while waiting
            timer.cancel()
            _give_back_if_acquired(acquire, in_flight)
            raise
        timer.cancel()
        if acquire.done():
            acquire.result()
        else:
            _give_back_if_acquired(acquire, in_flight)
            cap = limiter.limits.max_in_flight
            raise PoolTimeoutError(
                f"no in-flight slot freed within {timeout.pool:g} s (max_in_flight={cap}): "
                "every slot is held, e.g. by streams not closed; use `async with client.recordings.stream(...)`, "
                "or raise RateLimits(max_in_flight=...) or Timeout(pool=...)",
                method=req.method,
                path=path,
                request_sent=False,
            ) from None

    async def _follow(
        self,
        response: aiohttp.ClientResponse,
        req: Request,
        path: str,
        opts: CallOptions,
        same_origin: bool,
        stream: bool,
    ) -> aiohttp.ClientResponse:
        """Follow a redirect chain as browsers and httpx do, keeping our credentials at home.

        At most ``MAX_REDIRECTS`` hops.  A hop to another origin is sent without any
        credential header or cookie, and once the chain has left our origin it never
        carries them again.  https -> http is refused.  303 (and 301/302 after a POST)
        continue as a body-less GET; 307/308 repeat the method and the body.
        """
        method, with_body = req.method, True
        hop_req = replace(req, params=None)  # the Location carries its own query
        hops = 0
        while response.status in _REDIRECTS:
            location = response.headers.get("Location")
            if location is None:
                return response
            current = response.url
            target = current.join(URL(location))
            response.release()
            shown = str(target.with_query(None).with_fragment(None))
            hops += 1
            if hops > MAX_REDIRECTS:
                raise RedirectError(
                    f"more than {MAX_REDIRECTS} redirects", method=req.method, path=path, location=shown
                )
            if target.scheme not in ("http", "https"):
                raise RedirectError(
                    "refusing a redirect to a non-http(s) URL", method=req.method, path=path, location=shown
                )
            if current.scheme == "https" and target.scheme == "http":
                raise RedirectError(
                    "refusing a redirect from https to plain http (the request would travel unencrypted)",
                    method=req.method,
                    path=path,
                    location=shown,
                )
            if (response.status == 303 and method != "HEAD") or (response.status in (301, 302) and method == "POST"):
                method, with_body = "GET", False
            same_origin = same_origin and _origin(target) == self._origin
            response = await self._start(
                self._ensure_session(),
                hop_req,
                str(target),
                opts,
                same_origin,
                stream,
                method=method,
                with_body=with_body,
            )
        return response

    def _url(self, path: str) -> tuple[str, str, bool]:
        """The absolute URL, the path shown in errors and logs, and whether it is our origin."""
        if path.startswith(("http://", "https://")):
            parts = URL(path)
            return path, parts.path, _origin(parts) == self._origin
        if not path.startswith("/"):
            path = "/api/" + path
        return self.base_url + path, path, True

    # -- errors, retries, observability ------------------------------------------------

    def _status_error(
        self,
        req: Request,
        path: str,
        status: int,
        headers: CIMultiDictProxy[str],
        content: bytes,
        credentials: Credentials,
    ) -> APIStatusError:
        """The typed error of an answer; the one place server-provided text enters our errors.

        The server's text is redacted of this client's own secrets (a page echoing the
        request would show them) and cut to ``SERVER_TEXT_MAX`` characters.
        """
        text = redact_secrets(content.decode("utf-8", "replace"), credentials.secrets())
        detail: Any = None
        try:
            detail = _error_decoder.decode(text).detail
        except msgspec.DecodeError:
            detail = text
        if isinstance(detail, str):
            detail = cut_server_text(detail) or None
        cls = status_error_class(status)
        message = cut_server_text(describe_detail(detail, status, _reason(status)))
        kwargs: dict[str, Any] = {
            "status_code": status,
            "method": req.method,
            "path": path,
            "detail": detail,
            "headers": headers,
        }
        if cls is RateLimitError:
            return RateLimitError(message, retry_after=parse_retry_after(headers.get("Retry-After")), **kwargs)
        return cls(message, **kwargs)

    @staticmethod
    def _connection_error(exc: BaseException | None, req: Request, path: str, *, sent: bool) -> APIConnectionError:
        name = type(exc).__name__
        if isinstance(exc, TIMEOUT_ERRORS):
            return APITimeoutError(f"the request timed out ({name})", method=req.method, path=path, request_sent=sent)
        what = "could not connect" if not sent else "the connection failed before an answer arrived"
        return APIConnectionError(f"{what}: {name}", method=req.method, path=path, request_sent=sent)

    async def _wait_retry(
        self, req: Request, path: str, attempt: int, retry: RetryPolicy, error: VoiceAPIError, *, counted: bool = False
    ) -> None:
        status = error.status_code if isinstance(error, APIStatusError) else None
        retry_after = error.retry_after if isinstance(error, RateLimitError) else None
        delay = retry.delay(attempt, retry_after, self._rng)
        self._emit(
            HTTPEvent("retry", req.method, path, attempt, status, delay=delay, bucket=req.bucket, error=str(error)),
            counted=counted,
        )
        log.info("retrying %s %s in %.2f s (attempt %d: %s)", req.method, path, delay, attempt, error)
        await self._sleep(delay)

    def _count(self, method: str, path: str, status: int | None) -> None:
        for hook in self.answer_hooks:
            try:
                hook(method, path, status)
            except Exception:  # a broken observer must never break a request
                log.exception("answer hook %r failed", hook)

    def _emit(self, event: HTTPEvent, *, counted: bool = False) -> None:
        """Hand ``event`` to the event hooks; a retry or error with no answer is an attempt for the answer hooks.

        ``counted``: the attempt was counted when its answer came (a body broken mid-way).
        """
        if event.status is None and self.answer_hooks and not counted:  # after a broken connection
            self._count(event.method, event.path, None)
        for hook in self.hooks:
            try:
                hook(event)
            except Exception:  # a broken observer must never break a request
                log.exception("event hook %r failed", hook)


def _give_back_if_acquired(acquire: asyncio.Future[Any], in_flight: InFlightSlots) -> None:
    """Abandon a slot wait: cancel it, and release the slot should it have been won anyway."""

    def release(done: asyncio.Future[Any]) -> None:
        if not done.cancelled() and done.exception() is None:
            in_flight.release()

    acquire.cancel()
    acquire.add_done_callback(release)


#: A body up to this size is sent under ``Timeout.for_answers``, as a JSON call is.
SMALL_BODY = 256 * 1024


def _small_payload(data: aiohttp.payload.Payload) -> bool:
    """Whether ``data`` is bytes in memory of at most ``SMALL_BODY``: sent in one go, like JSON."""
    return isinstance(data, aiohttp.payload.BytesPayload) and data.size is not None and data.size <= SMALL_BODY


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    """Scheme, host and port (explicit or default): what must match for credentials to go."""
    return url.scheme, url.host.lower() if url.host else None, url.port


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"

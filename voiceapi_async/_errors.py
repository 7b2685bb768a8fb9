"""The exception hierarchy.  Everything the SDK raises derives from ``VoiceAPIError``.

Errors carry what a caller needs to act (status, method, URL path, the server's
``detail``) and never a secret: no headers, no query values of auth parameters,
no request bodies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ._models import ValidationErrorItem

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "MissingCredentialsError",
    "NarrationStyleNotFoundError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PoolTimeoutError",
    "RateLimitError",
    "RateLimitStoreError",
    "RedirectError",
    "UnknownVoiceError",
    "UnprocessableEntityError",
    "UnsupportedAudioError",
    "VoiceAPIError",
]


class VoiceAPIError(Exception):
    """Base class of every error raised by voiceapi-async."""


class InvalidRequestError(VoiceAPIError, ValueError):
    """Bad input caught locally, before any request was sent.  The message says what to fix."""


class UnknownVoiceError(InvalidRequestError):
    """No voice has this id or this exact name (case-insensitive); ``suggestions`` are close names.

    Raised by ``voices.resolve`` (and by jobs, for accents, narration styles and TTS
    voices too): a near match is never taken silently, since an order would pay for
    another voice than the one asked for.
    """

    def __init__(self, message: str, *, suggestions: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.suggestions = tuple(suggestions)


class UnsupportedAudioError(InvalidRequestError):
    """The upload is not wav, ogg, mp3 or flac (judged by its content, not its name)."""


class NarrationStyleNotFoundError(InvalidRequestError, LookupError):
    """No narration style of the voice carries every tag asked for.

    ``available`` maps each of the voice's style names to its tags, to choose others.
    """

    def __init__(self, voice_name: str, tags: Iterable[str], available: Mapping[str, Iterable[str]]) -> None:
        self.voice_name = voice_name
        self.tags = tuple(tags)
        self.available = {name: tuple(style_tags) for name, style_tags in available.items()}
        listed = "; ".join(f"{n}: {', '.join(t) or 'no tags'}" for n, t in self.available.items()) or "none"
        super().__init__(
            f"voice {voice_name!r} has no narration style tagged {', '.join(self.tags)} (its styles: {listed})"
        )


class ClientClosedError(VoiceAPIError, RuntimeError):
    """The client was closed; create a new one (or use ``async with``)."""


class APIConnectionError(VoiceAPIError):
    """The server could not be reached, or the connection broke before an answer.

    ``request_sent`` tells whether the request may have reached the server: when it
    is True a non-idempotent call (an upload, an order) may have been carried out,
    and the caller must reconcile before sending it again.
    """

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool = True) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.request_sent = request_sent

    def __str__(self) -> str:
        return f"{self.args[0]} ({self.method} {self.path})"


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read or total)."""


class RateLimitStoreError(VoiceAPIError):
    """The shared rate-limit store (Redis) failed or did not answer in time; the request was NOT sent.

    Raised instead of sending blind: requests sent without the shared buckets would
    overshoot the account's limits together with the other processes.  ``store`` is
    the store's URL without its password.  Jobs stop cleanly on it (``JobStoppedError``)
    and resume when run again.
    """

    request_sent = False

    def __init__(self, message: str, *, store: str) -> None:
        super().__init__(message)
        self.store = store


class RedirectError(VoiceAPIError):
    """A redirect was refused: a downgrade from https to plain http, or too many hops.

    ``location`` is where the server pointed, without its query (a signed URL's
    signature stays out of messages and logs).
    """

    def __init__(self, message: str, *, method: str, path: str, location: str) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.location = location

    def __str__(self) -> str:
        return f"{self.args[0]} ({self.method} {self.path} -> {self.location})"


class PoolTimeoutError(APITimeoutError):
    """No in-flight slot freed within ``Timeout.pool``: the request was never sent."""


class MissingCredentialsError(VoiceAPIError):
    """The client holds no credentials (e.g. its key was deleted): nothing was sent."""


class APIStatusError(VoiceAPIError):
    """The server answered with an error status."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        path: str,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.path = path
        self.detail = detail
        self.request_id = (headers or {}).get("x-request-id")

    def __str__(self) -> str:
        return f"{self.status_code} {self.method} {self.path}: {self.args[0]}"

    def __repr__(self) -> str:
        detail = cut_server_text(repr(self.detail))  # a 422 may list thousands of items
        return f"{type(self).__name__}(status_code={self.status_code}, path={self.path!r}, detail={detail})"


class APIResponseValidationError(VoiceAPIError):
    """A success (2xx) whose body does not decode as the SDK expects.

    **The server acted**: the request was accepted and carried out (an order may be
    placed, credits spent, a file uploaded), only its answer could not be read.  Do not
    blindly resend a non-idempotent call: read the state back (``get``/``list``) and
    reconcile first.  Not an ``APIStatusError``: nothing failed on the server's side.

    ``status_code``, ``method`` and ``path`` say which call; ``message`` is the decoder's
    message (where in the body and what was expected); ``body`` is the first
    ``BODY_PREVIEW`` characters of the answer, with secret-looking values masked.
    """

    #: How much of the answer is kept for diagnosis.
    BODY_PREVIEW = 2048

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str,
        path: str,
        body: bytes | str = b"",
        expected: str = "",
        secrets: Iterable[str] = (),
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.method = method
        self.path = path
        self.expected = expected
        self.body = preview_body(body, self.BODY_PREVIEW, secrets)

    def __str__(self) -> str:
        what = f" as {self.expected}" if self.expected else ""
        return (
            f"{self.status_code} {self.method} {self.path}: the server acted, but its answer did not decode{what}: "
            f"{self.args[0]} (do not resend blindly: read the state back first)"
        )

    def __repr__(self) -> str:
        return (
            f"APIResponseValidationError(status_code={self.status_code}, method={self.method!r}, "
            f"path={self.path!r}, message={self.args[0]!r})"
        )


#: JSON string values of keys that name a secret: ``"csrf_token": "..."`` -> ``"csrf_token": "***"``.
_SECRET_VALUE = re.compile(
    r'("(?:[a-z_-]*(?:api[_-]?key|token|password|passwd|secret|session[_-]?id|cookie|authorization))"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|$)',
    re.IGNORECASE,
)


def preview_body(body: bytes | str, limit: int = 2048, secrets: Iterable[str] = ()) -> str:
    """The start of a server's answer for an error message, secrets masked.

    Both this client's own secrets and the values of secret-looking keys (a login's
    ``csrf_token``, a new ``api_key``: secrets the client does not hold yet) become
    ``***``, before cutting, so a secret straddling the cut cannot leak either.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = redact_secrets(text[: limit * 4], secrets)  # bound the work on a huge answer
    return _SECRET_VALUE.sub(r'\1"***"', text)[:limit]


class BadRequestError(APIStatusError):
    status_code = 400


class AuthenticationError(APIStatusError):
    """401: the api key or the session is missing, invalid or expired."""

    status_code = 401


class InsufficientCreditsError(APIStatusError):
    """402: the account's credits cannot pay for the request."""

    status_code = 402


class PermissionDeniedError(APIStatusError):
    status_code = 403


class NotFoundError(APIStatusError):
    status_code = 404


class ConflictError(APIStatusError):
    status_code = 409


class PayloadTooLargeError(APIStatusError):
    """413: the upload is larger than the server accepts."""

    status_code = 413


class UnprocessableEntityError(APIStatusError):
    """422: the server rejected the request's fields; ``errors`` lists each one."""

    status_code = 422

    @property
    def errors(self) -> list[ValidationErrorItem]:
        return self.detail if isinstance(self.detail, list) else []


class RateLimitError(APIStatusError):
    """429: too many requests.  ``retry_after`` is the server's wait in seconds, if given."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)


#: Server-provided text (an error's ``detail``, an HTML error page) is cut to this many characters.
SERVER_TEXT_MAX = 1000


def redact_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``: as is, URL-encoded, or JSON-escaped.

    A JSON answer echoing a password with a quote, a backslash, a slash or a non-ASCII
    letter carries it escaped (``\\"``, ``\\u00e4``): redacted before decoding, so those
    forms are redacted too, or the decoded ``detail`` would show the secret.
    """
    for secret in secrets:
        if not secret:
            continue
        for form in sorted(_written_forms(secret), key=len, reverse=True):
            if form in text:
                text = text.replace(form, "***")
    return text


def _written_forms(secret: str) -> set[str]:
    """The ways a server's text may spell ``secret``."""
    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    return {secret, quote(secret, safe=""), *escaped, *(e.replace("/", "\\/") for e in escaped)}


def cut_server_text(text: str) -> str:
    """At most ``SERVER_TEXT_MAX`` characters of a server's text, saying how much was left out."""
    text = text.strip()
    if len(text) <= SERVER_TEXT_MAX:
        return text
    return f"{text[:SERVER_TEXT_MAX]}... [{len(text) - SERVER_TEXT_MAX} more characters cut]"


def describe_detail(detail: Any, status: int, reason: str) -> str:
    """A one-line message from the server's ``detail`` (a string or a 422 list)."""
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail:
        parts = []
        for item in detail:
            if isinstance(item, ValidationErrorItem):
                where = ".".join(str(p) for p in item.loc)
                parts.append(f"{where}: {item.msg}")
        if parts:
            return "; ".join(parts)
    return reason or f"HTTP {status}"

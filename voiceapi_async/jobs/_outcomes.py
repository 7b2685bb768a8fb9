"""What a failed request means for the job: stop it, retry the item, ask the server first, or give up on the item.

Shared by the stages that send non-idempotent requests (``_submit``, ``_retry``) and by
every stage that must turn a 401/402 into a clean stop of the whole batch.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    RateLimitError,
    RateLimitStoreError,
    VoiceAPIError,
)

__all__ = [
    "STOP_ERRORS",
    "TRANSIENT_ERRORS",
    "ItemRefused",
    "StopJob",
    "Transient",
    "Uncertain",
    "classify",
    "guard",
    "reason",
]

#: Errors that concern every item alike: the account (401, 402) or the shared rate-limit store.
STOP_ERRORS = (AuthenticationError, InsufficientCreditsError, RateLimitStoreError)
#: Errors of idempotent calls that the SDK's own retries did not get past, but time may (set-up steps).
TRANSIENT_ERRORS = (RateLimitError, InternalServerError, APIConnectionError)

T = TypeVar("T")
#: Client errors that say "not now" rather than "never" (request timeout, too early): retried later.
_TRANSIENT_4XX = frozenset({408, 425})


class StopJob(Exception):
    """An account-level error: stop the whole batch cleanly.

    401, 402 (once what is paid for is in), or the shared rate-limit store failing.
    """

    def __init__(self, cause: VoiceAPIError) -> None:
        super().__init__(str(cause))
        self.cause = cause

    @property
    def out_of_credits(self) -> bool:
        return isinstance(self.cause, InsufficientCreditsError)


class Uncertain(Exception):
    """The request may have been carried out: reconcile before sending it again."""


class Transient(Exception):
    """Nothing happened on the server; the same request may be sent again later."""


class ItemRefused(Exception):
    """The server (or a local check) refused this item for good."""


def reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def classify(exc: Exception) -> Exception:
    """What a failed non-idempotent request means for the item."""
    if isinstance(exc, STOP_ERRORS):
        return StopJob(exc)
    if isinstance(exc, APIConnectionError):
        return Uncertain(reason(exc)) if exc.request_sent else Transient(reason(exc))
    if isinstance(exc, APIResponseValidationError):
        return Uncertain(reason(exc))  # the server acted; its answer just did not decode
    if isinstance(exc, InternalServerError):
        return Uncertain(reason(exc))  # a 5xx to a POST may hide a done deed (e.g. a gateway timeout)
    if isinstance(exc, RateLimitError) or (isinstance(exc, APIStatusError) and exc.status_code in _TRANSIENT_4XX):
        return Transient(reason(exc))
    if isinstance(exc, (APIStatusError, InvalidRequestError)):
        return ItemRefused(reason(exc))
    return exc


async def guard(coro: Awaitable[T]) -> T:
    """Await ``coro``, turning a 401/402 (or a failed rate-limit store) into ``StopJob``."""
    try:
        return await coro
    except STOP_ERRORS as exc:
        raise StopJob(exc) from exc

"""voiceapi-async: an asyncio-first client for the Voice Marketplace API.

>>> async with VoiceClient(api_key="...") as client:
...     voices = await client.voices.list(gender="female")
"""

from ._client import DEFAULT_BASE_URL, VoiceClient
from ._config import RetryPolicy, Timeout
from ._downloads import DownloadedFile
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    UnprocessableEntityError,
    UnsupportedAudioError,
    VoiceAPIError,
)
from ._models import *  # noqa: F403
from ._models import __all__ as _models_all
from ._ratelimit import RateLimiter, RateLimits
from ._transport import HTTPEvent, RawResponse, capture_response
from ._uploads import AudioFormat, AudioSource, sniff_audio_format
from ._validation import sanitize_label
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AudioFormat",
    "AudioSource",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "DownloadedFile",
    "HTTPEvent",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiter",
    "RateLimits",
    "RawResponse",
    "RedirectError",
    "RetryPolicy",
    "Timeout",
    "UnprocessableEntityError",
    "UnsupportedAudioError",
    "VoiceAPIError",
    "VoiceClient",
    "__version__",
    "capture_response",
    "sanitize_label",
    "sniff_audio_format",
    *_models_all,
]

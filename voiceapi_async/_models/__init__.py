"""Typed models of the Voice Marketplace API, shared by the client and the emulator."""

from ._account import *  # noqa: F403
from ._account import __all__ as _account_all
from ._base import Model, OpenEnum
from ._enums import *  # noqa: F403
from ._enums import __all__ as _enums_all
from ._errors_body import ErrorBody, ValidationErrorItem
from ._extras import *  # noqa: F403
from ._extras import __all__ as _extras_all
from ._library import *  # noqa: F403
from ._library import __all__ as _library_all
from ._pages import *  # noqa: F403
from ._pages import __all__ as _pages_all
from ._requests import *  # noqa: F403
from ._requests import __all__ as _requests_all
from ._voices import *  # noqa: F403
from ._voices import __all__ as _voices_all

__all__ = [
    "ErrorBody",
    "Model",
    "OpenEnum",
    "ValidationErrorItem",
    *_account_all,
    *_enums_all,
    *_extras_all,
    *_library_all,
    *_pages_all,
    *_requests_all,
    *_voices_all,
]

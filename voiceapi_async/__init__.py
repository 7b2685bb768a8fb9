"""voiceapi-async: an asyncio-first client for the Voice Marketplace API."""

from ._models import *  # noqa: F403
from ._models import __all__ as _models_all
from ._version import __version__

__all__ = ["__version__", *_models_all]

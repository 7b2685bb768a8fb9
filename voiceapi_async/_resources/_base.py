"""What every resource shares: a handle on the client's request helpers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._client import VoiceClient

__all__ = ["Resource"]


class Resource:
    """A thin, declarative group of endpoints; the client's transport does the work."""

    def __init__(self, client: VoiceClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"

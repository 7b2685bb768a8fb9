"""What every resource shares: a handle on the client's request helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .._errors import APITimeoutError

if TYPE_CHECKING:
    from .._client import VoiceClient
    from .._transport import Transport

__all__ = ["Resource", "poll_until_final"]

T = TypeVar("T")


class Resource:
    """A thin, declarative group of endpoints; the client's transport does the work."""

    def __init__(self, client: VoiceClient) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


async def poll_until_final(
    transport: Transport,
    fetch: Callable[[], Awaitable[T]],
    is_final: Callable[[T], bool],
    *,
    path: str,
    interval: float,
    max_interval: float,
    timeout: float | None,
) -> T:
    """Fetch until ``is_final``; the interval grows 1.5x while nothing is final, up to ``max_interval``.

    Waits on the transport's clock and sleep, like every retry (tests run it on fake time).
    """
    deadline = None if timeout is None else transport.clock() + timeout
    while True:
        value = await fetch()
        if is_final(value):
            return value
        if deadline is not None and transport.clock() + interval > deadline:
            raise APITimeoutError(
                f"still not finished after {timeout} s (state: {getattr(value, 'state', '?')})", method="GET", path=path
            )
        await transport.sleep(interval)
        interval = min(max_interval, interval * 1.5)

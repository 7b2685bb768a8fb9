"""The route table type: each API operation is one ``Route`` with a stable name used by faults."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._store import Store, UserRec

__all__ = ["AuthedHandler", "PublicHandler", "Route"]

AuthedHandler = Callable[[Store, web.Request, UserRec], Awaitable[web.StreamResponse]]
PublicHandler = Callable[[Store, web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True)
class Route:
    """``name`` (e.g. ``"orders.create"``) and ``"METHOD /template"`` both select it in ``FaultConfig``.

    ``slow`` routes count in the account's slow rate-limit bucket.  ``public`` routes skip
    authentication (login, logout).
    """

    method: str
    path: str
    name: str
    handler: AuthedHandler | None = None
    public: PublicHandler | None = None
    slow: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

"""``/_emulator/...``: counters and faults over HTTP, no auth (a loopback test tool), never faulted."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from .._config import EmulatorConfig, FaultConfig
from .._counters import Counters
from .._http import ENCODER, error_response, json_response
from .._store import Store

AdminHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_routes(store: Store, counters: Counters, config: EmulatorConfig) -> list[tuple[str, str, AdminHandler]]:
    async def get_counters(request: web.Request) -> web.StreamResponse:
        return json_response(counters.snapshot())

    async def reset_counters(request: web.Request) -> web.StreamResponse:
        counters.reset()
        return json_response({"detail": "OK"})

    async def get_faults(request: web.Request) -> web.StreamResponse:
        return json_response(config.faults)

    async def set_faults(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            faults = msgspec.json.decode(raw or b"{}", type=FaultConfig)
        except msgspec.DecodeError as exc:
            return error_response(422, str(exc))
        config.faults = faults
        return web.Response(body=ENCODER.encode(faults), content_type="application/json")

    async def expire_sessions(request: web.Request) -> web.StreamResponse:
        store.sessions.clear()
        return json_response({"detail": "OK"})

    async def users(request: web.Request) -> web.StreamResponse:
        return json_response(store.seeded)

    async def recordings(request: web.Request) -> web.StreamResponse:
        """Every recording of every user as stored: what a chaos run checks "nothing twice" against."""
        return json_response([store.refresh(rec) for rec in list(store.recordings.values())])

    return [
        ("GET", "/_emulator/counters", get_counters),
        ("POST", "/_emulator/reset-counters", reset_counters),
        ("GET", "/_emulator/faults", get_faults),
        ("POST", "/_emulator/faults", set_faults),
        ("POST", "/_emulator/expire-sessions", expire_sessions),
        ("GET", "/_emulator/users", users),
        ("GET", "/_emulator/recordings", recordings),
    ]

"""Who is calling: ``api-key`` header, or ``session_id`` cookie plus a matching ``X-Csrf-Token``."""

from __future__ import annotations

from aiohttp import web

from ._counters import Counters
from ._http import ApiError
from ._store import Store, UserRec

__all__ = ["authenticate"]


def authenticate(store: Store, counters: Counters, request: web.Request, expire: bool) -> UserRec:
    """The calling user, or an ``ApiError`` 401/403 shaped like the real service's.

    An ``api-key`` header wins over a cookie.  ``expire`` (a fault) ends the session first.
    """
    headers = request.headers
    key = headers.get("api-key")
    if key is not None:
        uid = store.api_keys.get(key)
        if uid is None:
            raise ApiError(401, "Not authenticated")
        return store.users[uid]
    sid = request.cookies.get("session_id")
    if sid:
        session = store.sessions.get(sid)
        if session is None:
            raise ApiError(401, "Not authenticated")
        if expire or store.clock() >= session.expires_at:
            del store.sessions[sid]
            counters.sessions_expired += 1
            raise ApiError(401, "Session expired")
        if headers.get("X-Csrf-Token") != session.csrf:
            raise ApiError(403, "CSRF token missing or invalid")
        return store.users[session.user_id]
    raise ApiError(401, "Not authenticated")

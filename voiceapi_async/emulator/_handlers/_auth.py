"""API keys, login/logout and ``POST /api/auth``."""

from __future__ import annotations

from aiohttp import web

from voiceapi_async._models import ApiKey, ErrorBody, Health, LoginRequest, LoginResponse

from .._http import ApiError, decode_body, json_response
from .._routes import Route
from .._store import Store, UserRec

OK = ErrorBody(detail="OK")


async def api_key_create(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(ApiKey(api_key=st.replace_api_key(user)))


async def api_key_delete(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    st.drop_api_keys(user)
    return json_response(OK)


async def login(st: Store, request: web.Request) -> web.StreamResponse:
    creds = await decode_body(request, LoginRequest)
    assert creds is not None
    user = next((u for u in st.users.values() if u.email.lower() == creds.email.lower()), None)
    if user is None or user.password != creds.password:
        raise ApiError(404, "Incorrect email or password")
    ttl = float(creds.session_duration) if creds.session_duration else st.config.session_ttl
    sid, session = st.new_session(user, ttl)
    resp = json_response(LoginResponse(user=st.user_model(user), csrf_token=session.csrf))
    resp.set_cookie("session_id", sid, httponly=True, path="/", samesite="Lax")
    return resp


async def logout(st: Store, request: web.Request) -> web.StreamResponse:
    """Ends the cookie's session, if any; always OK (a stale session is already logged out)."""
    sid = request.cookies.get("session_id")
    if sid:
        st.sessions.pop(sid, None)
    resp = json_response(OK)
    resp.del_cookie("session_id", path="/")
    return resp


async def me(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(st.user_model(user))


async def health(st: Store, request: web.Request) -> web.StreamResponse:
    """``GET /api/healtz``: no credentials needed (the OpenAPI lists none), for readiness probes."""
    return json_response(Health(state="OK"))


ROUTES = [
    Route("POST", "/api/api-key", "auth.api_key_create", api_key_create),
    Route("DELETE", "/api/api-key", "auth.api_key_delete", api_key_delete),
    Route("POST", "/api/login", "auth.login", public=login),
    Route("POST", "/api/logout", "auth.logout", public=logout),
    Route("POST", "/api/auth", "auth.me", me),
    Route("GET", "/api/healtz", "health", public=health),
]

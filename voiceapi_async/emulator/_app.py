"""The aiohttp application: one dispatcher per route does counting, faults, auth and rate limits.

The per-route dispatcher is a closure with everything it needs bound at startup, so a
request costs a handful of dict operations on top of aiohttp's routing (no middleware).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from ._auth import authenticate
from ._config import EmulatorConfig
from ._counters import Counters
from ._faults import FaultInjector
from ._handlers import ALL_ROUTES, admin_routes
from ._http import ANSWER_MODE, ApiError, Invalid, error_response
from ._ratelimit import RateLimiter
from ._routes import Route
from ._store import Store

__all__ = ["Runtime", "build_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Runtime:
    """The mutable parts shared by all dispatchers."""

    def __init__(self, config: EmulatorConfig, store: Store, counters: Counters) -> None:
        self.config = config
        self.store = store
        self.counters = counters
        self.faults = FaultInjector(config.faults, config.seed)
        self.limiter = RateLimiter(config.rate_limits)

    def sync_config(self) -> None:
        """Pick up ``config.faults`` / ``config.rate_limits`` replaced by assignment."""
        cfg = self.config
        if self.faults.config is not cfg.faults:
            self.faults.configure(cfg.faults)
        if self.limiter.config is not cfg.rate_limits:
            self.limiter.reconfigure(cfg.rate_limits)


def _abort(request: web.Request) -> web.Response:
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=499)


def _dispatcher(rt: Runtime, route: Route) -> Handler:
    name, key, slow = route.name, route.key, route.slow
    counters, store = rt.counters, rt.store
    by_endpoint, by_route, by_status, by_user = (
        counters.requests_by_endpoint,
        counters.requests_by_route,
        counters.requests_by_status,
        counters.requests_by_user,
    )
    authed, public = route.handler, route.public

    async def dispatch(request: web.Request) -> web.StreamResponse:
        mode = rt.config.optional_fields
        if mode == "full":
            return await _dispatch(request)
        token = ANSWER_MODE.set(mode)
        try:
            return await _dispatch(request)
        finally:
            ANSWER_MODE.reset(token)

    async def _dispatch(request: web.Request) -> web.StreamResponse:
        counters.requests_total += 1
        by_endpoint[key] += 1
        by_route[name] += 1
        rt.sync_config()
        plan = rt.faults.plan(name, key)
        user_id: str | None = None
        resp: web.StreamResponse
        try:
            if plan is not None:
                if plan.delay:
                    await asyncio.sleep(plan.delay)
                if plan.throttle is not None:
                    counters.rate_limited += 1
                    counters.rate_limited_by_bucket["burst"] += 1
                    raise ApiError(
                        429, "Rate limit exceeded", {"Retry-After": rt.limiter.retry_after_header(plan.throttle)}
                    )
                if plan.error_status is not None:
                    counters.errors_injected += 1
                    raise ApiError(plan.error_status, "Injected server error")
                if plan.reset_before:
                    counters.resets_before += 1
                    by_status[0] += 1
                    return _abort(request)
            if authed is not None:
                user = authenticate(store, counters, request, plan is not None and plan.expire_session)
                user_id = user.id
                wait = rt.limiter.check(user_id, slow, store.clock())
                if wait is not None:
                    counters.rate_limited += 1
                    counters.rate_limited_by_bucket["slow" if slow else "fast"] += 1
                    raise ApiError(429, "Rate limit exceeded", {"Retry-After": rt.limiter.retry_after_header(wait)})
                resp = await authed(store, request, user)
            else:
                assert public is not None
                resp = await public(store, request)
        except ApiError as exc:
            resp = error_response(exc.status, exc.detail, exc.headers)
        except Invalid as exc:
            resp = error_response(422, exc.items)
        if user_id is not None:
            by_user[user_id] += 1
        if plan is not None:
            if plan.reset_after:
                counters.resets_after += 1
                by_status[0] += 1
                return _abort(request)
            if plan.stall:
                counters.stalls_injected += 1
                await asyncio.sleep(plan.stall)
        by_status[resp.status] += 1
        return resp

    return dispatch


async def _not_found(request: web.Request) -> web.StreamResponse:
    return error_response(404, "Not Found")


def build_app(rt: Runtime) -> web.Application:
    app = web.Application(client_max_size=16 << 20)
    router = app.router
    for route in ALL_ROUTES:
        router.add_route(route.method, route.path, _dispatcher(rt, route))
    for method, path, handler in admin_routes(rt.store, rt.counters, rt.config):
        router.add_route(method, path, handler)
    router.add_route("*", "/{tail:.*}", _not_found)
    return app

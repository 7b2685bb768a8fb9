"""Bring-your-own HTTP (session, connector, proxy, ssl), default headers, per-view options, key rotation."""

from __future__ import annotations

import logging
import re
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import CallbackResult, aioresponses

from tests.conftest import API_KEY, BASE, FakeTime
from tests.sdk.samples import RECORDING, RID
from voiceapi_async import (
    AuthenticationError,
    InvalidRequestError,
    MissingCredentialsError,
    NotFoundError,
    RateLimit,
    RateLimits,
    VoiceClient,
)

REC_URL = re.compile("^" + re.escape(f"{BASE}/api/recordings/{RID}") + r"(\?.*)?$")
TENANT_KEY = "sk-tenant-b-9876543210-SECRET"
NEW_KEY = "sk-rotated-55555555-SECRET"
BEARER = "Bearer internal-gateway-token-SECRET"


def _requests(mocked: aioresponses, method: str = "GET") -> list[Any]:
    return [(url, c) for (m, url), cs in mocked.requests.items() if m == method for c in cs]


class Recorder:
    """An aioresponses callback keeping every call in order (``mocked.requests`` groups by URL)."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, str]]] = []

    def __call__(self, url: Any, **kwargs: Any) -> CallbackResult:
        self.calls.append((url, dict(kwargs["headers"])))
        return CallbackResult(payload=RECORDING)

    def last(self) -> tuple[Any, dict[str, str]]:
        return self.calls[-1]


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[TestServer, list[web.Request]]]:
    """A real loopback server (or proxy: it answers absolute-form requests too) that records requests."""
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        return web.json_response(RECORDING)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        yield server, seen
    finally:
        await server.close()


async def test_a_session_passed_in_is_used_and_left_open(
    echo_server: tuple[TestServer, list[web.Request]],
) -> None:
    server, seen = echo_server
    async with aiohttp.ClientSession(headers={"X-From-Session": "yes"}) as session:
        client = VoiceClient(api_key=API_KEY, base_url=str(server.make_url("")), session=session)
        async with client:
            recording = await client.recordings.get(RID)
        assert recording.id == RID and client.closed
        assert not session.closed, "the client must not close a session it does not own"
        assert seen[-1].headers["X-From-Session"] == "yes" and seen[-1].headers["api-key"] == API_KEY
        async with session.get(server.make_url("/still-usable")) as response:
            assert response.status == 200


async def test_a_session_s_own_answer_handling_does_not_change_ours() -> None:
    """``raise_for_status=True`` / ``auto_decompress=False`` on a session passed in: still our typed errors, decoded JSON."""
    import gzip
    import json

    async def handler(request: web.Request) -> web.Response:
        if request.path.endswith(RID):
            body = gzip.compress(json.dumps(RECORDING).encode())
            return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        return web.json_response({"detail": "no such recording"}, status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        async with aiohttp.ClientSession(raise_for_status=True, auto_decompress=False) as session:
            base_url = str(server.make_url(""))
            async with VoiceClient(api_key=API_KEY, base_url=base_url, session=session, max_retries=0) as client:
                assert (await client.recordings.get(RID)).id == RID
                with pytest.raises(NotFoundError, match="no such recording"):
                    await client.recordings.get("00000000-0000-4000-8000-0000000000ff")
    finally:
        await server.close()


async def test_a_connector_passed_in_is_shared_and_left_open(
    echo_server: tuple[TestServer, list[web.Request]],
) -> None:
    server, _ = echo_server
    connector = aiohttp.TCPConnector(limit=3)
    try:
        async with VoiceClient(api_key=API_KEY, base_url=str(server.make_url("")), connector=connector) as client:
            await client.recordings.get(RID)
            assert client._transport._session is not None and client._transport._session.connector is connector
        assert not connector.closed
    finally:
        await connector.close()
    with pytest.raises(InvalidRequestError, match="not both"):
        VoiceClient(api_key=API_KEY, base_url=BASE, session=object(), connector=connector)  # type: ignore[arg-type]


async def test_https_proxy_from_the_environment_is_honoured_by_default(
    echo_server: tuple[TestServer, list[web.Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, seen = echo_server
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", str(proxy.make_url("")))
    # Nothing listens on port 9 of localhost: the answer can only come through the proxy.
    async with VoiceClient(api_key=API_KEY, base_url="http://localhost:9", max_retries=0) as client:
        recording = await client.recordings.get(RID)
    assert recording.id == RID
    assert seen[-1].path == f"/api/recordings/{RID}" and seen[-1].host.startswith("localhost")

    monkeypatch.setenv("NO_PROXY", "localhost")
    exempt = VoiceClient(base_url="http://localhost:9")
    exempt._transport._ensure_session()
    assert exempt._transport._proxy is None
    await exempt.close()
    monkeypatch.delenv("NO_PROXY")
    ignoring = VoiceClient(base_url="http://localhost:9", trust_env=False)
    ignoring._transport._ensure_session()
    assert ignoring._transport._proxy is None
    await ignoring.close()


async def test_proxy_and_ssl_options_reach_aiohttp(mocked: aioresponses) -> None:
    context = ssl.create_default_context()
    async with VoiceClient(
        api_key=API_KEY, base_url=BASE, proxy="http://proxy.internal:3128", ssl=context, trust_env=False
    ) as client:
        mocked.get(REC_URL, payload=RECORDING)
        await client.recordings.get(RID)
    _, call = _requests(mocked)[-1]
    assert call.kwargs["proxy"] == "http://proxy.internal:3128" and call.kwargs["ssl"] is context


async def test_default_and_extra_headers_and_query_go_to_the_api_only(mocked: aioresponses) -> None:
    client = VoiceClient(
        api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled(), default_headers={"Authorization": BEARER}
    )
    async with client:
        recorder = Recorder()
        mocked.get(REC_URL, callback=recorder, repeat=True)
        await client.recordings.get(RID)
        _, headers = recorder.last()
        assert headers["Authorization"] == BEARER and headers["api-key"] == API_KEY

        tenant = client.with_options(
            api_key=TENANT_KEY, extra_headers={"X-Tenant": "b"}, extra_query={"trace": "on", "skip": None}
        )
        assert tenant._transport is client._transport
        await tenant.recordings.get(RID)
        url, headers = recorder.last()
        assert headers["api-key"] == TENANT_KEY and headers["X-Tenant"] == "b" and headers["Authorization"] == BEARER
        assert url.query == {"trace": "on"}

        await client.recordings.get(RID)  # the parent is unchanged
        url, headers = recorder.last()
        assert headers["api-key"] == API_KEY and "X-Tenant" not in headers and not url.query

        storage = "https://storage.example.net/take.wav"
        mocked.get(storage, body=b"RIFF....WAVE")
        async with tenant.recordings.stream(storage) as stream:
            chunks = [c async for c in stream.iter_bytes()]
        assert b"".join(chunks) == b"RIFF....WAVE"
        url, call = next((u, c) for u, c in _requests(mocked) if u.host == "storage.example.net")
        headers = dict(call.kwargs["headers"])
        assert url.host == "storage.example.net" and not url.query
        assert not {"api-key", "Authorization", "X-Tenant", "Cookie"} & set(headers)

    with pytest.raises(InvalidRequestError, match="default_headers"):
        VoiceClient(api_key=API_KEY, base_url=BASE, default_headers={"X-Count": 3})  # type: ignore[dict-item]


async def test_api_key_rotation_create_then_delete(mocked: aioresponses) -> None:
    async with VoiceClient(api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled()) as client:
        view = client.with_options(timeout=5)  # shares the client's credentials
        mocked.post(f"{BASE}/api/api-key", payload={"api_key": NEW_KEY})
        created = await client.api_keys.create()
        assert created.api_key == NEW_KEY and client.has_api_key
        recorder = Recorder()
        mocked.get(REC_URL, callback=recorder, repeat=True)
        await view.recordings.get(RID)
        assert recorder.last()[1]["api-key"] == NEW_KEY
        assert client.with_options(api_key=NEW_KEY).rate_limiter is client.rate_limiter, "one account, one limiter"

        mocked.delete(f"{BASE}/api/api-key", payload={"detail": "OK"})
        await client.api_keys.delete()
        assert not client.has_api_key
        sent = len(_requests(mocked))
        with pytest.raises(MissingCredentialsError, match=r"no API key: the key was deleted by api_keys\.delete\(\)"):
            await client.recordings.get(RID)
        with pytest.raises(MissingCredentialsError):
            await view.recordings.get(RID)
        assert len(_requests(mocked)) == sent, "nothing may be sent without credentials"
        assert NEW_KEY not in repr(client) and API_KEY not in repr(client)

        mocked.get(f"{BASE}/api/healtz", payload={"state": "OK"})
        assert (await client.health()).ok, "a call that needs no credentials still works"
        health_calls = [c for u, c in _requests(mocked) if u.path == "/api/healtz"]
        assert "api-key" not in health_calls[0].kwargs["headers"]
        await client.with_options(api_key=API_KEY).recordings.get(RID)
        assert recorder.last()[1]["api-key"] == API_KEY


async def test_no_secret_of_any_option_in_reprs_logs_or_errors(
    mocked: aioresponses, sdk_log: pytest.LogCaptureFixture
) -> None:
    client = VoiceClient(
        api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled(), default_headers={"Authorization": BEARER}
    )
    tenant = client.with_options(api_key=TENANT_KEY, extra_headers={"X-Signature": "sig-SECRET"})
    async with client:
        echoed = f"denied: {TENANT_KEY} {BEARER}"
        mocked.get(REC_URL, status=401, payload={"detail": echoed})
        with pytest.raises(AuthenticationError) as info:
            await tenant.recordings.get(RID)
    texts = [repr(client), repr(tenant), repr(tenant.recordings), str(info.value), repr(info.value), sdk_log.text]
    texts.append(repr(tenant._options))
    assert sdk_log.records
    for text in texts:
        for secret in (API_KEY, TENANT_KEY, "sig-SECRET"):
            assert secret not in text, (secret, text)
    assert logging.getLogger("voiceapi_async").isEnabledFor(logging.DEBUG)


async def test_each_api_key_has_its_own_rate_limits_and_in_flight_cap(
    mocked: aioresponses, fake_time: FakeTime
) -> None:
    """The server limits each account on its own: another tenant's view must not wait on ours."""
    client = VoiceClient(
        api_key=API_KEY,
        base_url=BASE,
        rate_limits=RateLimits(fast=RateLimit(times=2, seconds=10), slow=None, max_in_flight=1, headroom=0),
        _sleep=fake_time.sleep,
        _clock=fake_time.clock,
    )
    mocked.get(REC_URL, payload=RECORDING, repeat=True)
    storage = "https://storage.example.net/take.wav"
    mocked.get(storage, body=b"RIFF....WAVE", repeat=True)
    async with client:
        tenant = client.with_options(api_key=TENANT_KEY)
        for _ in range(2):
            await client.recordings.get(RID)
        for _ in range(2):  # the tenant's budget is untouched by ours
            await tenant.with_options(api_key=TENANT_KEY, timeout=5).recordings.get(RID)
        assert fake_time.sleeps == []
        await tenant.recordings.get(RID)  # the tenant's third call in 10 s waits for the tenant's window
        assert fake_time.sleeps == [10.0]

        async with client.recordings.stream(storage):  # our only in-flight slot is held...
            assert (await tenant.recordings.get(RID)).id == RID  # ...not the tenant's
        assert fake_time.sleeps == [10.0]

        assert client.with_options(api_key=TENANT_KEY).rate_limiter is tenant.rate_limiter
        assert client.with_options(api_key=API_KEY).rate_limiter is client.rate_limiter
        assert client.with_options(timeout=3).rate_limiter is client.rate_limiter
        assert tenant.with_options(max_retries=0).rate_limiter is tenant.rate_limiter
        assert tenant.rate_limiter.account != client.rate_limiter.account
        assert TENANT_KEY not in tenant.rate_limiter.account and "SECRET" not in repr(vars(tenant.rate_limiter))
        assert tenant.rate_limiter.limits == client.rate_limiter.limits  # the limits the client was given


async def test_a_tenant_adopting_its_account_limits_leaves_ours_alone(mocked: aioresponses) -> None:
    me = {
        "id": "tenant-user",
        "email": "t@example.com",
        "data": {"rate_limits": {"fast": {"times": 7, "seconds": 60}, "slow": {"times": 3, "seconds": 60}}},
    }
    mocked.post(f"{BASE}/api/auth", payload=me)
    async with VoiceClient(api_key=API_KEY, base_url=BASE) as client:
        tenant = client.with_options(api_key=TENANT_KEY)
        limits = await tenant.adopt_account_rate_limits()
        assert tenant.rate_limiter.limits == limits and limits.fast == RateLimit(times=7, seconds=60)
        assert client.rate_limiter.limits == RateLimits()
        assert client.with_options(api_key=TENANT_KEY).rate_limiter.limits == limits  # kept for that key


def test_per_key_limiters_are_kept_while_used_and_for_the_most_recent_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from voiceapi_async import _transport

    monkeypatch.setattr(_transport, "REMEMBERED_KEYS", 2)
    client = VoiceClient(api_key=API_KEY, base_url=BASE)
    kept = client.with_options(api_key="tenant-kept-key")
    for n in range(5):  # a view per request, for five other tenants
        client.with_options(api_key=f"tenant-{n}-key").rate_limiter.throttled = n + 1
    gc.collect()
    assert client.with_options(api_key="tenant-kept-key").rate_limiter is kept.rate_limiter, "in use: kept"
    assert client.with_options(api_key="tenant-4-key").rate_limiter.throttled == 5, "recent: remembered"
    assert client.with_options(api_key="tenant-0-key").rate_limiter.throttled == 0, "neither: forgotten"
    gc.collect()
    assert len(client._transport._limiters) <= 2 + 2  # ours, the one in use, the two most recent

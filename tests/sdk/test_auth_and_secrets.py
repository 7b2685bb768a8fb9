"""Both auth methods, and secrets kept out of logs, reprs and errors."""

from __future__ import annotations

import logging
import re

import pytest
from aioresponses import aioresponses

from tests.conftest import API_KEY, BASE
from tests.sdk.samples import RECORDING, RID, USER
from voiceapi_async import AuthenticationError, InvalidRequestError, RateLimits, VoiceClient
from voiceapi_async.types import LoginRequest

SESSION_ID = "sess-0123456789-SECRET"
CSRF = "csrf-abcdef-SECRET"
PASSWORD = "hunter2-SECRET"
REC_URL = re.compile(re.escape(f"{BASE}/api/recordings/{RID}"))


def _login_answer(mocked: aioresponses) -> None:
    mocked.post(
        f"{BASE}/api/login",
        payload={"user": USER, "csrf_token": CSRF},
        headers={"Set-Cookie": f"session_id={SESSION_ID}; HttpOnly; Path=/"},
    )


def _last_headers(mocked: aioresponses, method: str = "GET") -> dict[str, str]:
    calls = [c for (m, _), cs in mocked.requests.items() if m == method for c in cs]
    return dict(calls[-1].kwargs["headers"])


async def test_login_sends_cookie_and_csrf_then_logout_clears_them(mocked: aioresponses) -> None:
    client = VoiceClient(base_url=BASE, rate_limits=RateLimits.disabled())
    async with client:
        _login_answer(mocked)
        result = await client.auth.login("ada@example.com", PASSWORD)
        assert result.user.id == USER["id"]
        login_call = next(c for (m, u), cs in mocked.requests.items() if u.path == "/api/login" for c in cs)
        assert b'"password":"hunter2-SECRET"' in login_call.kwargs["data"]

        mocked.get(REC_URL, payload=RECORDING, repeat=True)
        await client.recordings.get(RID)
        headers = _last_headers(mocked)
        assert headers["Cookie"] == f"session_id={SESSION_ID}"
        assert headers["X-Csrf-Token"] == CSRF
        assert "api-key" not in headers

        mocked.post(f"{BASE}/api/logout", payload={"detail": "OK"})
        await client.auth.logout()
        mocked.get(REC_URL, payload=RECORDING)
        await client.recordings.get(RID)
        headers = _last_headers(mocked)
        assert "Cookie" not in headers and "X-Csrf-Token" not in headers


async def test_logout_falls_back_to_the_api_key(mocked: aioresponses) -> None:
    async with VoiceClient(api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled()) as client:
        _login_answer(mocked)
        await client.auth.login("ada@example.com", PASSWORD)
        mocked.post(f"{BASE}/api/logout", payload={"detail": "OK"})
        await client.auth.logout()
        mocked.get(REC_URL, payload=RECORDING)
        await client.recordings.get(RID)
        assert _last_headers(mocked)["api-key"] == API_KEY


async def test_login_without_a_session_cookie_is_an_error(mocked: aioresponses) -> None:
    async with VoiceClient(base_url=BASE) as client:
        mocked.post(f"{BASE}/api/login", payload={"user": USER, "csrf_token": CSRF})
        with pytest.raises(AuthenticationError, match="without a session cookie"):
            await client.auth.login("ada@example.com", PASSWORD)


async def test_expired_session_raises_authentication_error_once(mocked: aioresponses) -> None:
    async with VoiceClient(base_url=BASE, rate_limits=RateLimits.disabled()) as client:
        _login_answer(mocked)
        await client.auth.login("ada@example.com", PASSWORD)
        mocked.get(REC_URL, status=401, payload={"detail": "Session expired"}, repeat=True)
        with pytest.raises(AuthenticationError, match="Session expired"):
            await client.recordings.get(RID)
        assert sum(len(cs) for (m, _), cs in mocked.requests.items() if m == "GET") == 1


async def test_credentials_are_not_sent_to_another_origin(mocked: aioresponses, tmp_path: object) -> None:
    async with VoiceClient(api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled()) as client:
        mocked.get("https://storage.example.net/take.wav", body=b"RIFF....WAVE")
        async with client.recordings.stream("https://storage.example.net/take.wav") as stream:
            chunks = [c async for c in stream.iter_bytes()]
        assert b"".join(chunks) == b"RIFF....WAVE"
        assert "api-key" not in _last_headers(mocked)


async def test_no_secret_in_logs_reprs_or_errors(mocked: aioresponses, sdk_log: pytest.LogCaptureFixture) -> None:
    client = VoiceClient(api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled())
    async with client:
        _login_answer(mocked)
        login = await client.auth.login("ada@example.com", PASSWORD)
        mocked.get(REC_URL, status=503, payload={"detail": "busy"})
        mocked.get(REC_URL, status=401, payload={"detail": "Not authenticated"})
        with client.capture_response() as captured, pytest.raises(AuthenticationError) as info:
            await client.recordings.get(RID)
        texts = [
            repr(client),
            repr(client._transport.credentials),
            repr(login),
            repr(LoginRequest(email="a@b.c", password=PASSWORD)),
            repr(info.value),
            str(info.value),
            repr(captured.response),
            sdk_log.text,
        ]
    assert sdk_log.records, "the SDK should log requests at DEBUG"
    for text in texts:
        for secret in (API_KEY, SESSION_ID, CSRF, PASSWORD):
            assert secret not in text, (secret, text)


def test_invalid_config_is_reported_before_any_request() -> None:
    with pytest.raises(InvalidRequestError, match="timeout"):
        VoiceClient(api_key="k", base_url=BASE, timeout=-1)
    with pytest.raises(InvalidRequestError, match="max_retries"):
        VoiceClient(api_key="k", base_url=BASE, max_retries=-1)
    with pytest.raises(InvalidRequestError, match="base_url"):
        VoiceClient(api_key="k", base_url="ftp://x")
    with pytest.raises(InvalidRequestError, match="must not carry credentials") as info:
        VoiceClient(api_key="k", base_url="https://gateway-user:hunter2-SECRET@api.example.com")
    assert "SECRET" not in str(info.value)


def test_logger_is_the_package_logger() -> None:
    from voiceapi_async import _transport

    assert _transport.log is logging.getLogger("voiceapi_async")

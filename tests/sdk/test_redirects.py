"""Redirects: credentials stay with the origin, over real loopback HTTP between two servers.

Server A is the API (the client's base URL); server B is another origin (a storage
bucket's signed URL).  Every request B receives is recorded, so the tests assert on
what actually reached it, not on what the client meant to send.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

from tests.conftest import API_KEY
from tests.sdk.samples import RECORDING, RID, USER
from voiceapi_async import AuthenticationError, RateLimits, RedirectError, UnprocessableEntityError, VoiceClient

SESSION_ID = "sess-0123456789-SECRET"
CSRF = "csrf-abcdef-SECRET"
PASSWORD = "hunter2-SECRET"
AUDIO = bytes(range(256)) * 2048  # 512 KiB: several chunks when streamed
SECRETS = (API_KEY, SESSION_ID, CSRF)


@dataclass
class Seen:
    """What one server received: method, path, headers and cookies of each request."""

    requests: list[dict[str, Any]] = field(default_factory=list)

    def record(self, request: web.Request, body: bytes = b"") -> None:
        self.requests.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "headers": dict(request.headers),
                "cookies": dict(request.cookies),
                "body": body,
            }
        )

    def leaked(self) -> list[str]:
        """Every credential (or a header that carries one) that reached this server."""
        found = []
        for req in self.requests:
            for name in ("api-key", "X-Csrf-Token", "Cookie", "Authorization"):
                if name in req["headers"]:
                    found.append(f"{req['path']}: header {name}")
            found += [f"{req['path']}: cookie {name}" for name in req["cookies"]]
            text = repr(req)
            found += [f"{req['path']}: a secret in {text!r}" for s in SECRETS if s in text]
        return found


@dataclass
class Servers:
    api: TestServer
    other: TestServer
    api_seen: Seen
    other_seen: Seen

    def api_url(self, path: str = "") -> str:
        return str(self.api.make_url(path))

    def other_url(self, path: str = "") -> str:
        return str(self.other.make_url(path))


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    api_seen, other_seen = Seen(), Seen()
    holder: dict[str, TestServer] = {}

    async def other_origin(request: web.Request) -> web.StreamResponse:
        other_seen.record(request, await request.read())
        if request.path == "/signed/take.wav":
            response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
            response.content_length = len(AUDIO)
            await response.prepare(request)
            for start in range(0, len(AUDIO), 64 * 1024):
                await response.write(AUDIO[start : start + 64 * 1024])
            return response
        if request.path == "/back-home":  # an attacker-controlled hop pointing back at the API
            raise web.HTTPFound(str(holder["api"].make_url(f"/api/recordings/{RID}")))
        return web.json_response({"ok": True})

    async def api(request: web.Request) -> web.StreamResponse:
        api_seen.record(request, await request.read())
        other = holder["other"]
        path = request.path
        if path == "/api/login":
            response = web.json_response({"user": USER, "csrf_token": CSRF})
            response.set_cookie("session_id", SESSION_ID, httponly=True)
            return response
        if path == f"/api/files/{RID}/take.wav":
            raise web.HTTPFound(str(other.make_url("/signed/take.wav").with_query(sig="s3cr3t-signature")))
        if path == "/api/moved":
            raise web.HTTPMovedPermanently(f"/api/recordings/{RID}")
        if path == f"/api/recordings/{RID}":
            return web.json_response(RECORDING)
        if path == "/api/loop":
            raise web.HTTPFound("/api/loop")
        if path == "/api/to-other":
            raise web.HTTPFound(str(other.make_url("/back-home")))
        if path == "/api/see-other":
            raise web.HTTPSeeOther(str(other.make_url("/landing")))
        if path == "/api/temporary":
            raise web.HTTPTemporaryRedirect("/api/echo")
        if path == "/api/echo":
            return web.json_response({"detail": "OK"})
        if path == "/api/echo-secrets":
            echoed = f"<html><body>bad request {request.headers.get('api-key')} {'x' * 5000}</body></html>"
            return web.Response(status=400, text=echoed, content_type="text/html")
        raise web.HTTPNotFound()

    api_app, other_app = web.Application(), web.Application()
    api_app.router.add_route("*", "/{tail:.*}", api)
    other_app.router.add_route("*", "/{tail:.*}", other_origin)
    holder["api"], holder["other"] = TestServer(api_app), TestServer(other_app)
    await holder["api"].start_server()
    await holder["other"].start_server()
    try:
        yield Servers(holder["api"], holder["other"], api_seen, other_seen)
    finally:
        await holder["api"].close()
        await holder["other"].close()


def _client(servers: Servers, **kwargs: Any) -> VoiceClient:
    return VoiceClient(base_url=servers.api_url(), rate_limits=RateLimits.disabled(), max_retries=0, **kwargs)


async def test_a_signed_url_download_gets_no_credentials_and_streams(servers: Servers, tmp_path: Path) -> None:
    async with _client(servers, api_key=API_KEY) as client:
        downloaded = await client.recordings.download(RECORDING["url"], tmp_path / "take.wav")
        async with client.recordings.stream(RECORDING["url"]) as stream:
            chunks = [c async for c in stream.iter_bytes()]
    assert downloaded.path.read_bytes() == AUDIO and downloaded.size == len(AUDIO)
    assert b"".join(chunks) == AUDIO and len(chunks) > 1
    assert [r["path"] for r in servers.other_seen.requests] == ["/signed/take.wav?sig=s3cr3t-signature"] * 2
    assert servers.other_seen.leaked() == []
    assert all(r["headers"]["api-key"] == API_KEY for r in servers.api_seen.requests)


async def test_a_login_session_cookie_and_csrf_token_stay_home(servers: Servers, tmp_path: Path) -> None:
    async with _client(servers) as client:
        await client.auth.login("ada@example.com", PASSWORD)
        await client.recordings.download(RECORDING["url"], tmp_path / "take.wav")
    assert (tmp_path / "take.wav").read_bytes() == AUDIO
    file_request = servers.api_seen.requests[-1]
    assert file_request["cookies"] == {"session_id": SESSION_ID} and file_request["headers"]["X-Csrf-Token"] == CSRF
    assert servers.other_seen.requests and servers.other_seen.leaked() == []


async def test_same_origin_redirects_keep_credentials_and_are_bounded(servers: Servers) -> None:
    async with _client(servers, api_key=API_KEY) as client:
        recording = await client._request("GET", "/api/moved", type(await client.recordings.get(RID)))
        assert recording.id == RID
        assert [r["path"] for r in servers.api_seen.requests[-2:]] == ["/api/moved", f"/api/recordings/{RID}"]
        assert servers.api_seen.requests[-1]["headers"]["api-key"] == API_KEY
        with pytest.raises(RedirectError, match="more than 5 redirects") as info:
            await client._request("GET", "/api/loop", dict)
    assert [r["path"] for r in servers.api_seen.requests].count("/api/loop") == 6
    assert info.value.location.endswith("/api/loop")


async def test_once_the_chain_left_the_origin_credentials_never_come_back(servers: Servers) -> None:
    async with _client(servers, api_key=API_KEY) as client:
        await client._request("GET", "/api/to-other", dict)
    assert [r["path"] for r in servers.other_seen.requests] == ["/back-home"]
    back = servers.api_seen.requests[-1]
    assert back["path"] == f"/api/recordings/{RID}" and "api-key" not in back["headers"]
    assert servers.other_seen.leaked() == []


async def test_303_turns_a_post_into_a_bodyless_get_and_307_repeats_it(servers: Servers) -> None:
    async with _client(servers, api_key=API_KEY) as client:
        await client._request("POST", "/api/see-other", dict, json={"password": PASSWORD})
        landing = servers.other_seen.requests[-1]
        assert (landing["method"], landing["path"], landing["body"]) == ("GET", "/landing", b"")
        assert servers.other_seen.leaked() == []
        await client._request("POST", "/api/temporary", dict, json={"a": 1})
    echo = servers.api_seen.requests[-1]
    assert (echo["method"], echo["path"], echo["body"]) == ("POST", "/api/echo", b'{"a":1}')
    assert echo["headers"]["api-key"] == API_KEY


async def test_server_text_in_errors_is_cut_and_redacted(servers: Servers) -> None:
    async with _client(servers, api_key=API_KEY) as client:
        with pytest.raises(Exception) as info:
            await client._request("GET", "/api/echo-secrets", dict)
    error = info.value
    for text in (str(error), repr(error), str(getattr(error, "detail", ""))):
        assert API_KEY not in text
    assert "bad request ***" in str(error)
    assert "more characters cut" in str(error) and len(str(error)) < 1200


async def test_an_https_to_http_downgrade_is_refused(mocked: aioresponses) -> None:
    async with VoiceClient(api_key=API_KEY, base_url="https://api.test", max_retries=0) as client:
        mocked.get(
            re.compile(r"^https://api\.test/api/files/.*"),
            status=302,
            headers={"Location": "http://storage.example.net/take.wav?sig=s3cr3t"},
        )
        with pytest.raises(RedirectError, match="from https to plain http") as info:
            await client.recordings.download(RECORDING["url"], "/nonexistent/never-written.wav")
    assert info.value.location == "http://storage.example.net/take.wav"
    assert "s3cr3t" not in str(info.value)
    assert not any(url.scheme == "http" for (_, url) in mocked.requests)


async def test_a_login_password_echoed_by_the_server_is_redacted(mocked: aioresponses) -> None:
    async with VoiceClient(base_url="https://api.test", max_retries=0) as client:
        mocked.post("https://api.test/api/login", status=401, payload={"detail": f"wrong password {PASSWORD}"})
        with pytest.raises(AuthenticationError) as info:
            await client.auth.login("ada@example.com", PASSWORD)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)
    assert "wrong password ***" in str(info.value)


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["ascii-escapes", "utf-8"])
async def test_a_password_the_server_echoes_json_escaped_is_redacted_too(
    mocked: aioresponses, ensure_ascii: bool
) -> None:
    import json

    password = 'h\u00fcnter"2\\/x-SECRET'  # a quote, a backslash, a slash and a non-ASCII letter
    echo = {"detail": [{"loc": ["body", "password"], "msg": f"not {password}", "type": "value_error"}]}
    async with VoiceClient(base_url="https://api.test", max_retries=0) as client:
        mocked.post("https://api.test/api/login", status=422, body=json.dumps(echo, ensure_ascii=ensure_ascii))
        with pytest.raises(UnprocessableEntityError) as info:
            await client.auth.login("ada@example.com", password)
    error = info.value
    assert error.errors[0].msg == "not ***"
    for text in (str(error), repr(error), repr(error.detail)):
        assert password not in text and "SECRET" not in text, text


async def test_a_long_list_of_errors_is_cut_in_the_repr_too(mocked: aioresponses) -> None:
    many = {"detail": [{"loc": ["query", str(i)], "msg": "x" * 40, "type": "t"} for i in range(300)]}
    async with VoiceClient(api_key=API_KEY, base_url="https://api.test", max_retries=0) as client:
        mocked.get("https://api.test/api/credits", status=422, payload=many)
        with pytest.raises(UnprocessableEntityError) as info:
            await client.credits.get()
    assert len(info.value.errors) == 300, "the structured list is kept whole"
    assert len(str(info.value)) < 1200 and len(repr(info.value)) < 1200


async def test_a_session_passed_in_keeps_its_cookie_jar_away_from_other_origins(
    servers: Servers, tmp_path: Path
) -> None:
    import aiohttp

    jar = aiohttp.CookieJar(unsafe=True)  # stores cookies of IP hosts such as 127.0.0.1, for any port
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with _client(servers, session=session) as client:
            await client.auth.login("ada@example.com", PASSWORD)
            assert any(c.key == "session_id" for c in jar), "the login cookie landed in the caller's jar"
            await client.recordings.download(RECORDING["url"], tmp_path / "take.wav")
        assert not session.closed
    assert (tmp_path / "take.wav").read_bytes() == AUDIO
    assert servers.other_seen.requests and servers.other_seen.leaked() == []

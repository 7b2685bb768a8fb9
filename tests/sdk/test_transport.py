"""Error mapping, retries, Retry-After, non-idempotent safety, hooks and raw responses."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from tests.conftest import BASE, FakeTime
from tests.sdk.samples import FID, ORDER, RECORDING, RID, VID, wav_bytes
from voiceapi_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConversionTarget,
    HTTPEvent,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RateLimits,
    RetryPolicy,
    UnprocessableEntityError,
    VoiceClient,
)
from voiceapi_async import _transport as transport_module

REC_URL = re.compile("^" + re.escape(f"{BASE}/api/recordings/{RID}") + "$")
ORDERS_URL = f"{BASE}/api/v2/orders"
UPLOAD_URL = f"{BASE}/api/recordings"


def _refused() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="api.test", port=443, ssl=True)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))  # type: ignore[arg-type]


def _calls(mocked: aioresponses) -> int:
    return sum(len(v) for v in mocked.requests.values())


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (413, PayloadTooLargeError),
        (418, APIStatusError),
    ],
)
async def test_status_errors_map_to_types_and_are_not_retried(
    status: int, error: type[APIStatusError], client: VoiceClient, mocked: aioresponses
) -> None:
    mocked.get(REC_URL, status=status, payload={"detail": f"nope {status}"}, repeat=True)
    with pytest.raises(error) as info:
        await client.recordings.get(RID)
    exc = info.value
    assert type(exc) is error
    assert exc.status_code == status
    assert exc.method == "GET"
    assert exc.path == f"/api/recordings/{RID}"
    assert exc.detail == f"nope {status}"
    assert f"nope {status}" in str(exc)
    assert _calls(mocked) == 1


async def test_422_carries_the_parsed_detail_list(client: VoiceClient, mocked: aioresponses) -> None:
    detail = [{"loc": ["query", "limit"], "msg": "ensure this value is less than or equal to 200", "type": "le"}]
    mocked.get(REC_URL, status=422, payload={"detail": detail})
    with pytest.raises(UnprocessableEntityError) as info:
        await client.recordings.get(RID)
    assert info.value.errors[0].loc == ["query", "limit"]
    assert info.value.errors[0].type == "le"
    assert "query.limit: ensure this value" in str(info.value)


async def test_5xx_is_retried_with_backoff_then_raised(
    client: VoiceClient, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.get(REC_URL, status=503, payload={"detail": "busy"}, repeat=True)
    with pytest.raises(InternalServerError) as info:
        await client.recordings.get(RID)
    assert info.value.status_code == 503
    assert _calls(mocked) == 4  # 1 + max_retries (3)
    assert len(fake_time.sleeps) == 3
    # full jitter: each wait lies within the exponential ceiling
    for attempt, slept in enumerate(fake_time.sleeps, start=1):
        assert 0 <= slept <= min(8.0, 0.5 * 2 ** (attempt - 1))


async def test_5xx_then_success_returns_the_answer(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(REC_URL, status=502, payload={"detail": "bad gateway"})
    mocked.get(REC_URL, status=500, body="<html>oops</html>", content_type="text/html")
    mocked.get(REC_URL, payload=RECORDING)
    recording = await client.recordings.get(RID)
    assert recording.id == RID
    assert _calls(mocked) == 3


async def test_408_and_429_are_retried_and_retry_after_is_honoured(
    client: VoiceClient, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.get(REC_URL, status=408, payload={"detail": "timeout"})
    mocked.get(REC_URL, status=429, payload={"detail": "slow down"}, headers={"Retry-After": "7"})
    mocked.get(REC_URL, payload=RECORDING)
    assert (await client.recordings.get(RID)).id == RID
    assert fake_time.sleeps[1] == 7.0


async def test_retry_after_as_http_date_and_cap(mocked: aioresponses, fake_time: FakeTime) -> None:
    client = VoiceClient(
        api_key="k" * 20,
        base_url=BASE,
        rate_limits=RateLimits.disabled(),
        retry=RetryPolicy(max_retries=1, retry_after_max=30),
        _sleep=fake_time.sleep,
    )
    mocked.get(REC_URL, status=429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, payload={})
    mocked.get(REC_URL, payload=RECORDING)
    async with client:
        await client.recordings.get(RID)
    assert fake_time.sleeps == [30]


async def test_429_exhausting_retries_raises_rate_limit_error_with_retry_after(
    client: VoiceClient, mocked: aioresponses
) -> None:
    mocked.get(
        REC_URL, status=429, headers={"Retry-After": "2"}, payload={"detail": "Rate limit exceeded"}, repeat=True
    )
    with pytest.raises(RateLimitError) as info:
        await client.with_options(max_retries=1).recordings.get(RID)
    assert info.value.retry_after == 2.0
    assert _calls(mocked) == 2


async def test_401_is_never_retried(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(REC_URL, status=401, payload={"detail": "Not authenticated"}, repeat=True)
    with pytest.raises(AuthenticationError):
        await client.recordings.get(RID)
    assert _calls(mocked) == 1


async def test_connection_refused_is_retried_even_for_an_order(
    client: VoiceClient, mocked: aioresponses, fake_time: FakeTime
) -> None:
    refused = _refused()
    mocked.post(ORDERS_URL, exception=refused)
    mocked.post(ORDERS_URL, payload=[ORDER])
    orders = await client.orders.create(RID, [ConversionTarget(voice_id=VID)])
    assert orders[0].original_id == RID
    assert _calls(mocked) == 2


async def test_connection_refused_exhausted_says_the_request_was_not_sent(
    client: VoiceClient, mocked: aioresponses
) -> None:
    refused = _refused()
    mocked.post(ORDERS_URL, exception=refused, repeat=True)
    with pytest.raises(APIConnectionError) as info:
        await client.orders.create(RID, [ConversionTarget(voice_id=VID)])
    assert info.value.request_sent is False
    assert _calls(mocked) == 4


@pytest.mark.parametrize(
    "exception",
    [aiohttp.ServerDisconnectedError(), aiohttp.ClientOSError(104, "reset by peer"), TimeoutError()],
    ids=["disconnected", "reset", "timeout"],
)
async def test_order_is_not_retried_once_it_may_have_reached_the_server(
    exception: Exception, client: VoiceClient, mocked: aioresponses
) -> None:
    mocked.post(ORDERS_URL, exception=exception, repeat=True)
    with pytest.raises(APIConnectionError) as info:
        await client.orders.create(RID, [ConversionTarget(voice_id=VID)])
    assert info.value.request_sent is True
    assert isinstance(info.value, APITimeoutError) == isinstance(exception, TimeoutError)
    assert _calls(mocked) == 1


async def test_order_is_not_retried_on_5xx(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.post(ORDERS_URL, status=500, payload={"detail": "boom"}, repeat=True)
    with pytest.raises(InternalServerError):
        await client.orders.create(RID, [ConversionTarget(voice_id=VID)])
    assert _calls(mocked) == 1


async def test_upload_is_retried_on_429_and_sends_the_whole_body_again(
    client: VoiceClient, mocked: aioresponses, tmp_path: Any
) -> None:
    audio = wav_bytes(5000)
    path = tmp_path / "take.wav"
    path.write_bytes(audio)
    bodies: list[bytes] = []

    async def capture(url: Any, **kwargs: Any) -> CallbackResult:
        from tests.sdk.test_operations import _render

        bodies.append(await _render(kwargs["data"]))
        if len(bodies) == 1:
            return CallbackResult(status=429, payload={"detail": "Rate limit exceeded"}, headers={"Retry-After": "1"})
        return CallbackResult(payload=RECORDING)

    mocked.post(UPLOAD_URL, callback=capture, repeat=True)
    recording = await client.recordings.create(FID, path)
    assert recording.id == RID
    assert len(bodies) == 2
    assert audio in bodies[0] and audio in bodies[1]


async def test_idempotent_get_is_retried_after_a_reset(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(REC_URL, exception=aiohttp.ServerDisconnectedError())
    mocked.get(REC_URL, exception=TimeoutError())
    mocked.get(REC_URL, payload=RECORDING)
    assert (await client.recordings.get(RID)).id == RID


async def test_timeout_exhausted_raises_api_timeout_error(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(REC_URL, exception=TimeoutError(), repeat=True)
    with pytest.raises(APITimeoutError):
        await client.with_options(max_retries=0).recordings.get(RID)


async def test_event_hooks_and_raw_response_capture(client: VoiceClient, mocked: aioresponses) -> None:
    events: list[HTTPEvent] = []
    client.add_event_hook(events.append)
    mocked.get(REC_URL, status=503, payload={})
    mocked.get(REC_URL, payload=RECORDING, headers={"X-Request-Id": "abc"})
    with client.capture_response() as captured:
        await client.recordings.get(RID)
    assert [(e.kind, e.status) for e in events] == [("response", 503), ("retry", 503), ("response", 200)]
    assert captured.response is not None
    assert captured.response.status == 200
    assert captured.response.headers["X-Request-Id"] == "abc"
    assert captured.response.attempts == 2


async def test_a_broken_hook_does_not_break_requests(client: VoiceClient, mocked: aioresponses) -> None:
    def broken(event: HTTPEvent) -> None:
        raise RuntimeError("observer bug")

    client.add_event_hook(broken)
    mocked.get(REC_URL, payload=RECORDING)
    assert (await client.recordings.get(RID)).id == RID


async def test_answer_hooks_see_every_attempt_and_no_event_is_built_for_them(
    client: VoiceClient, mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The counters' hook: one call per attempt, ``None`` for a broken connection; answers build no ``HTTPEvent``."""
    built: list[str] = []
    real_event = transport_module.HTTPEvent

    def counting_event(kind: str, *args: Any, **kwargs: Any) -> HTTPEvent:
        built.append(kind)
        return real_event(kind, *args, **kwargs)

    monkeypatch.setattr(transport_module, "HTTPEvent", counting_event)
    seen: list[tuple[str, str, int | None]] = []
    client.add_answer_hook(lambda method, path, status: seen.append((method, path, status)))
    mocked.get(REC_URL, exception=_refused())
    mocked.get(REC_URL, status=503, payload={})
    mocked.get(REC_URL, payload=RECORDING)
    await client.recordings.get(RID)
    path = f"/api/recordings/{RID}"
    assert seen == [("GET", path, None), ("GET", path, 503), ("GET", path, 200)]
    assert "response" not in built  # only the two retries made an event (nobody else listens)


async def test_a_body_broken_mid_way_is_one_attempt_for_the_answer_hooks(
    client: VoiceClient, mocked: aioresponses
) -> None:
    """The attempt is counted with its answer (200); the retry after its body broke is not another."""
    from voiceapi_async._transport import Request

    seen: list[int | None] = []
    client.add_answer_hook(lambda method, path, status: seen.append(status))
    url = f"{BASE}/api/files/take.wav"
    mocked.get(url, body=b"RIFF", repeat=True)
    reads = 0

    async def consume(response: aiohttp.ClientResponse) -> bytes:
        nonlocal reads
        reads += 1
        body = await response.read()
        if reads == 1:
            raise aiohttp.ClientPayloadError("connection lost mid-body")
        return body

    got = await client._transport.consume(Request("GET", url), consume, opts=client._options)
    assert got == b"RIFF" and reads == 2
    assert seen == [200, 200]


async def test_a_broken_answer_hook_does_not_break_requests(client: VoiceClient, mocked: aioresponses) -> None:
    seen: list[int | None] = []

    def broken(method: str, path: str, status: int | None) -> None:
        raise RuntimeError("counter bug")

    client.add_answer_hook(broken)
    client.add_answer_hook(lambda method, path, status: seen.append(status))
    mocked.get(REC_URL, payload=RECORDING)
    assert (await client.recordings.get(RID)).id == RID
    assert seen == [200]  # the hooks after a broken one are still told
    client.remove_answer_hook(broken)
    mocked.get(REC_URL, payload=RECORDING)
    await client.recordings.get(RID)
    assert seen == [200, 200]


async def test_undecodable_success_raises_a_clear_error(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(REC_URL, payload={"unexpected": True})
    with pytest.raises(APIResponseValidationError, match="did not decode as Recording") as caught:
        await client.recordings.get(RID)
    assert not isinstance(caught.value, APIStatusError)  # nothing failed on the server's side
    assert caught.value.status_code == 200


async def test_user_agent_names_package_version_and_python(client: VoiceClient, mocked: aioresponses) -> None:
    import platform

    from voiceapi_async import __version__

    mocked.get(REC_URL, payload=RECORDING)
    await client.recordings.get(RID)
    session = client._transport._session
    assert session is not None
    ua = session.headers["User-Agent"]
    assert f"voiceapi-async/{__version__}" in ua and f"Python/{platform.python_version()}" in ua


async def test_closed_client_refuses_work_and_close_is_idempotent(client: VoiceClient) -> None:
    await client.close()
    await client.close()
    assert client.closed
    with pytest.raises(ClientClosedError, match="closed"):
        await client.recordings.get(RID)


def test_plain_http_is_refused_except_for_loopback() -> None:
    from voiceapi_async import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="https"):
        VoiceClient(api_key="k", base_url="http://api.example.com")
    for ok in ("http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://api.example.com"):
        assert VoiceClient(api_key="k", base_url=ok).base_url == ok


def test_environment_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEAPI_API_KEY", "env-key-value-123456")
    monkeypatch.setenv("VOICEAPI_BASE_URL", "http://127.0.0.1:9999/")
    client = VoiceClient()
    assert client.base_url == "http://127.0.0.1:9999"
    assert client._transport.credentials.headers() == {"api-key": "env-key-value-123456"}


def test_with_options_shares_the_session_and_limiter() -> None:
    client = VoiceClient(api_key="k", base_url=BASE, timeout=5)
    fast = client.with_options(timeout=1, max_retries=0)
    assert fast._transport is client._transport
    assert fast.rate_limiter is client.rate_limiter
    assert fast.timeout.total == 1 and client.timeout.total == 5
    assert fast.retry_policy.max_retries == 0 and client.retry_policy.max_retries == 3


async def test_tls_errors_are_typed_and_not_retried(client: VoiceClient, mocked: aioresponses) -> None:
    key = SimpleNamespace(host="api.test", port=443, ssl=True)
    broken = aiohttp.ClientConnectorCertificateError(key, ValueError("self-signed certificate"))  # type: ignore[arg-type]
    mocked.get(REC_URL, exception=broken, repeat=True)
    with pytest.raises(APIConnectionError, match="ClientConnectorCertificateError") as info:
        await client.recordings.get(RID)
    assert info.value.request_sent is False
    assert _calls(mocked) == 1


def test_timeouts_for_json_calls_and_for_streams() -> None:
    from voiceapi_async import Timeout

    t = Timeout(connect=5, read=30)
    assert (t.for_answers.total, t.for_answers.sock_connect, t.for_answers.sock_read) == (35, 5, None)
    assert (t.for_streams.total, t.for_streams.sock_connect, t.for_streams.sock_read) == (None, 5, 30)
    capped = Timeout(connect=5, read=30, total=10)
    assert capped.for_answers.total == 10 and capped.for_streams.total == 10
    assert Timeout(connect=None, read=None).for_answers.total is None


async def test_a_small_upload_is_bounded_as_a_json_call_and_a_large_one_by_its_progress(
    client: VoiceClient, mocked: aioresponses, tmp_path: Any
) -> None:
    """Up to ``SMALL_BODY`` an upload gets one deadline (``for_answers``); above, a read timer (``for_streams``)."""
    from voiceapi_async._transport import SMALL_BODY

    small, large = tmp_path / "small.wav", tmp_path / "large.wav"
    small.write_bytes(wav_bytes(1000))
    large.write_bytes(wav_bytes(SMALL_BODY))  # 2 bytes a sample: twice SMALL_BODY
    timeouts: list[aiohttp.ClientTimeout] = []

    async def capture(url: Any, **kwargs: Any) -> CallbackResult:
        timeouts.append(kwargs["timeout"])
        return CallbackResult(payload=RECORDING)

    mocked.post(UPLOAD_URL, callback=capture, repeat=True)
    await client.recordings.create(FID, small)
    await client.recordings.create(FID, large)
    await client.recordings.create(FID, small.read_bytes())
    timeout = client.timeout
    assert timeouts == [timeout.for_answers, timeout.for_streams, timeout.for_answers]
    assert timeout.for_answers.sock_read is None and timeout.for_streams.sock_read == timeout.read


def test_http_event_hand_written_init_sets_every_field_as_the_dataclass_would() -> None:
    """``HTTPEvent.__init__`` is written out (half the instructions): it must keep up with the fields."""
    import dataclasses

    from voiceapi_async import HTTPEvent

    names = [f.name for f in dataclasses.fields(HTTPEvent)]
    event = HTTPEvent("response", "GET", "/api/voices", 2, status=200, elapsed=0.5)
    assert sorted(vars(event)) == sorted(names)  # no field left unset, none invented
    assert dataclasses.asdict(event) == {
        "kind": "response",
        "method": "GET",
        "path": "/api/voices",
        "attempt": 2,
        "status": 200,
        "elapsed": 0.5,
        "delay": None,
        "bucket": "fast",
        "error": None,
    }
    same = HTTPEvent(kind="response", method="GET", path="/api/voices", attempt=2, status=200, elapsed=0.5)
    assert event == same and hash(event) == hash(same)
    assert dataclasses.replace(event, status=429) == HTTPEvent("response", "GET", "/api/voices", 2, 429, 0.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.status = 500  # type: ignore[misc]

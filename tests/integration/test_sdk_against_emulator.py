"""The SDK's surface against the emulator over real loopback HTTP, faults included."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sdk.samples import wav_bytes
from voiceapi_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ConversionTarget,
    InsufficientCreditsError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RateLimits,
    RecordingState,
    RetryPolicy,
    Timeout,
    UnprocessableEntityError,
    VoiceClient,
)
from voiceapi_async.emulator import Emulator, EmulatorConfig, FaultConfig, RateLimitConfig

FAST = EmulatorConfig(original_delay=0.02, conversion_delay=(0.05, 0.1), calibration_delay=0.05)
NO_WAIT_RETRY = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.02)


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(dataclasses.replace(FAST)) as emulator:  # tests mutate their config
        yield emulator


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[VoiceClient]:
    async with VoiceClient(
        api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled(), retry=NO_WAIT_RETRY
    ) as c:
        yield c


async def _folder(client: VoiceClient, name: str = "F") -> str:
    project = await client.projects.create(f"P {name}")
    return (await client.folders.create(project.id, name)).id


async def test_upload_order_wait_download_and_export(client: VoiceClient, tmp_path: Path) -> None:
    folder_id = await _folder(client)
    original = await client.recordings.create(folder_id, wav_bytes(16000), label="take 1")
    assert original.state is RecordingState.PROCESSING
    original = await client.recordings.wait(original.id, interval=0.02)
    assert original.state is RecordingState.DONE and original.duration == pytest.approx(1.0)
    voice = (await client.voices.list(limit=1)).list[0]
    orders = await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id, semitones_correction=2)])
    conversion = await client.recordings.wait(orders[0].conversion_id, interval=0.02)
    assert conversion.state is RecordingState.DONE and conversion.original_id == original.id
    downloaded = await client.recordings.download(conversion, tmp_path)
    assert downloaded.path.read_bytes()[:4] == b"RIFF"
    async with client.recordings.stream(conversion) as stream:
        streamed = b"".join([chunk async for chunk in stream.iter_bytes()])
    assert streamed == downloaded.path.read_bytes()
    export = await client.recordings.export(original.id, tmp_path / "conv.zip")
    assert zipfile.ZipFile(io.BytesIO(export.path.read_bytes())).namelist()


async def test_pagination_to_the_end_and_voice_filters(client: VoiceClient) -> None:
    voices = [v async for v in client.voices.list(limit=7)]
    page = await client.voices.list(limit=1)
    assert len(voices) == page.pagination.count and len({v.id for v in voices}) == len(voices)
    females = [v async for v in client.voices.list(gender="female")]
    assert females and all(v.gender == "female" for v in females)
    found = await client.voices.search(voices[0].name)
    assert voices[0].id in {v.id for v in found}


async def test_users_are_isolated(emu: Emulator, client: VoiceClient) -> None:
    folder_id = await _folder(client)
    async with VoiceClient(api_key=emu.users[1].api_key, base_url=emu.base_url) as other:
        with pytest.raises(NotFoundError):
            await other.folders.get(folder_id)
        assert [p async for p in other.projects.list()] == []


async def test_session_login_both_ways_and_expiry(emu: Emulator) -> None:
    user = emu.users[0]
    async with VoiceClient(base_url=emu.base_url) as client:
        with pytest.raises(AuthenticationError):
            await client.credits.get()
        await client.auth.login(user.email, user.password)
        assert (await client.auth.me()).email == user.email
        emu.expire_sessions()
        with pytest.raises(AuthenticationError):
            await client.credits.get()


async def test_server_side_validation_and_status_errors(emu: Emulator, client: VoiceClient) -> None:
    folder_id = await _folder(client)
    original = await client.recordings.create(folder_id, wav_bytes(8000))
    voice = (await client.voices.list(limit=1)).list[0]
    with pytest.raises(UnprocessableEntityError) as info:  # bypass local checks: a raw bad query
        await client._request("GET", "/api/recordings", dict, params={"folder_id": folder_id, "limit": 500})
    assert info.value.errors[0].loc[-1] == "limit"
    emu.config.max_upload_size = 1000
    with pytest.raises(PayloadTooLargeError):
        await client.recordings.create(folder_id, wav_bytes(8000))
    emu.config.max_upload_size = 1 << 30
    emu.store.users[emu.users[0].id].credits = 0.1  # type: ignore[attr-defined]
    with pytest.raises(InsufficientCreditsError, match="credits"):
        await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id)])
    assert emu.counters.snapshot()["orders_total"] == 0


async def test_conversion_errors_and_retry(emu: Emulator) -> None:
    config = EmulatorConfig(original_delay=0.01, conversion_delay=(0.02, 0.03), conversion_error_rate=1.0)
    async with (
        Emulator(config) as emulator,
        VoiceClient(api_key=emulator.api_key, base_url=emulator.base_url, rate_limits=RateLimits.disabled()) as client,
    ):
        folder_id = await _folder(client)
        original = await client.recordings.create(folder_id, wav_bytes(8000))
        voice = (await client.voices.list(limit=1)).list[0]
        order = (await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id)]))[0]
        failed = await client.recordings.wait(order.conversion_id, interval=0.02)
        assert failed.state is RecordingState.ERROR and failed.error
        emulator.config.conversion_error_rate = 0.0
        retried = await client.orders.retry(failed.id)
        assert retried.conversion_id == failed.id
        assert (await client.recordings.wait(failed.id, interval=0.02)).state is RecordingState.DONE


async def test_429_with_retry_after_is_honoured_by_the_client(emu: Emulator) -> None:
    emu.set_rate_limits(RateLimitConfig.per_second(3, 1))
    events: list[int] = []
    async with VoiceClient(
        api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled(), retry=RetryPolicy(max_retries=5)
    ) as client:
        client.add_event_hook(lambda e: events.append(e.status or 0) if e.kind == "response" else None)
        await asyncio.gather(*(client.credits.get() for _ in range(8)))
    assert 429 in events and events.count(200) == 8


async def test_429_surfaces_with_retry_after_when_retries_are_off(emu: Emulator) -> None:
    emu.set_faults(FaultConfig(burst_429=1, burst_429_retry_after=3, endpoints=("credits.get",)))
    async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, max_retries=0) as client:
        with pytest.raises(RateLimitError) as info:
            await client.credits.get()
    assert info.value.retry_after == 3


async def test_client_side_limits_avoid_429s(emu: Emulator) -> None:
    from voiceapi_async import RateLimit

    # Real time on both sides (the server's clock is its own), so the client paces at half the
    # server's rate: a loaded machine delaying a request by up to ~1 s cannot turn pacing into a
    # 429, while an unpaced client (25 at once against a burst of 20) always meets some.
    emu.set_rate_limits(RateLimitConfig.per_second(20, 4))
    limits = RateLimits(fast=RateLimit(times=5, seconds=0.5), slow=RateLimit(times=2, seconds=1))
    async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, rate_limits=limits, max_retries=0) as client:
        await asyncio.gather(*(client.credits.get() for _ in range(25)))
    assert emu.counters.snapshot()["rate_limited"] == 0


async def test_injected_5xx_are_retried_for_reads(emu: Emulator, client: VoiceClient) -> None:
    emu.set_faults(FaultConfig(error_rate=0.3, endpoints=("credits.get",), seed=3))
    patient = client.with_options(max_retries=8)
    for _ in range(10):
        await patient.credits.get()
    snapshot = emu.counters.snapshot()
    assert snapshot["errors_injected"] > 0
    assert snapshot["requests_by_route"]["credits.get"] == 10 + snapshot["errors_injected"]


async def test_injected_5xx_on_an_order_is_raised_not_retried(emu: Emulator, client: VoiceClient) -> None:
    folder_id = await _folder(client)
    original = await client.recordings.create(folder_id, wav_bytes(8000))
    voice = (await client.voices.list(limit=1)).list[0]
    emu.set_faults(FaultConfig(error_rate=1.0, error_statuses=(503,), endpoints=("orders.create",)))
    with pytest.raises(InternalServerError):
        await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id)])
    assert emu.counters.snapshot()["requests_by_route"]["orders.create"] == 1


async def test_reset_after_acting_is_reported_as_maybe_sent(emu: Emulator, client: VoiceClient) -> None:
    folder_id = await _folder(client)
    original = await client.recordings.create(folder_id, wav_bytes(8000))
    voice = (await client.voices.list(limit=1)).list[0]
    emu.set_faults(FaultConfig(reset_after_rate=1.0, endpoints=("orders.create",)))
    with pytest.raises(APIConnectionError) as info:
        await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id)])
    assert info.value.request_sent is True
    emu.set_faults(FaultConfig())
    conversions = [c async for c in client.recordings.conversions(original.id)]
    assert len(conversions) == 1  # the order was placed: reconcile, don't re-order
    assert emu.counters.snapshot()["orders_total"] == 1


async def test_reset_before_acting_on_a_read_is_retried(emu: Emulator, client: VoiceClient) -> None:
    emu.set_faults(FaultConfig(reset_before_rate=1.0, endpoints=("credits.get",)))
    with pytest.raises(APIConnectionError):
        await client.credits.get()
    # 1 + 3 retries by the SDK; aiohttp itself may re-send an idempotent request once on a
    # reused keep-alive connection that the server closed, so each attempt is 1 or 2 requests.
    assert 4 <= emu.counters.snapshot()["requests_by_route"]["credits.get"] <= 8
    emu.set_faults(FaultConfig())
    assert (await client.credits.get()).credits > 0


async def test_stalled_response_times_out(emu: Emulator) -> None:
    emu.set_faults(FaultConfig(stall_rate=1.0, stall_seconds=5, endpoints=("credits.get",)))
    async with VoiceClient(
        api_key=emu.api_key, base_url=emu.base_url, timeout=Timeout(connect=1, read=0.2), max_retries=1
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.credits.get()


async def test_latency_is_tolerated(emu: Emulator, client: VoiceClient) -> None:
    emu.set_faults(FaultConfig(latency=0.05, latency_jitter=0.02))
    assert (await client.credits.get()).credits > 0


async def test_forbidden_csrf_is_a_permission_error(emu: Emulator) -> None:
    user = emu.users[0]
    async with VoiceClient(base_url=emu.base_url) as client:
        await client.auth.login(user.email, user.password)
        client._transport.credentials.start_session(
            client._transport.credentials._session.session_id,  # type: ignore[union-attr]
            "wrong-token",
        )
        with pytest.raises(PermissionDeniedError):
            await client.credits.get()

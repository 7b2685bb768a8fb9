"""Streams that cannot leak, bounded slot waits, downloads into directories, one retry policy and clock."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from tests.conftest import API_KEY, BASE, FakeTime
from tests.sdk.samples import RECORDING, RID, wav_bytes
from voiceapi_async import (
    APIConnectionError,
    APITimeoutError,
    HTTPEvent,
    InvalidRequestError,
    PoolTimeoutError,
    RateLimits,
    Recording,
    Timeout,
    VoiceClient,
)

FILE_URL = BASE + RECORDING["url"]
FILE_RE = re.compile("^" + re.escape(FILE_URL) + r"(\?.*)?$")
REC_URL = re.compile("^" + re.escape(f"{BASE}/api/recordings/{RID}") + "$")
AUDIO = wav_bytes(3000)


def _capped_client(max_in_flight: int, time: FakeTime | SteppedTime) -> VoiceClient:
    """At most ``max_in_flight`` requests in flight; a slot wait gives up after 30 s of ``time``."""
    return VoiceClient(
        api_key=API_KEY,
        base_url=BASE,
        rate_limits=RateLimits.disabled(max_in_flight=max_in_flight),
        timeout=Timeout(pool=30),
        _sleep=time.sleep,
        _clock=time.clock,
    )


@pytest.fixture
async def small_client(fake_time: FakeTime) -> AsyncIterator[VoiceClient]:
    client = _capped_client(4, fake_time)
    yield client
    await client.close()


def _free_slots(client: VoiceClient) -> int:
    return client.rate_limiter.slot().free


async def test_held_streams_make_the_fifth_call_fail_typed_instead_of_hanging(
    small_client: VoiceClient, mocked: aioresponses, fake_time: FakeTime
) -> None:
    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    mocked.get(REC_URL, payload=RECORDING, repeat=True)
    async with AsyncExitStack() as held:
        for _ in range(4):  # four streams opened and neither read nor closed
            await held.enter_async_context(small_client.recordings.stream(RECORDING["url"]))
        assert _free_slots(small_client) == 0
        with pytest.raises(PoolTimeoutError, match=r"max_in_flight=4") as info:
            await asyncio.wait_for(small_client.recordings.get(RID), 5)  # the outer bound only guards the test
        assert info.value.request_sent is False and isinstance(info.value, APITimeoutError)
        assert fake_time.sleeps == [30], "the slot wait is bounded on the client's (fake) clock"
    assert _free_slots(small_client) == 4
    assert (await small_client.recordings.get(RID)).id == RID


class SteppedTime:
    """A fake clock whose sleeps end only when the test moves time past them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waiting: list[tuple[float, asyncio.Future[None]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        self.waiting.append((self.now + seconds, woken))
        await woken

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, woken in self.waiting:
            if deadline <= self.now and not woken.done():
                woken.set_result(None)

    async def until_someone_sleeps(self) -> None:
        for _ in range(100):
            if any(not woken.done() for _, woken in self.waiting):
                return
            await asyncio.sleep(0)
        raise AssertionError("nobody is waiting on the fake clock")


@pytest.fixture
async def stepped(mocked: aioresponses) -> AsyncIterator[tuple[VoiceClient, SteppedTime]]:
    """A client with 2 slots on a stepped clock; its recording and its file answer any number of times."""
    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    mocked.get(REC_URL, payload=RECORDING, repeat=True)
    time = SteppedTime()
    client = _capped_client(2, time)
    yield client, time
    await client.close()


async def _let_run() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_a_slot_wait_ends_at_the_fake_deadline_not_before(
    stepped: tuple[VoiceClient, SteppedTime],
) -> None:
    client, time = stepped
    async with AsyncExitStack() as held:
        for _ in range(2):
            await held.enter_async_context(client.recordings.stream(RECORDING["url"]))
        call = asyncio.ensure_future(client.recordings.get(RID))
        await time.until_someone_sleeps()
        time.advance(29.9)
        await _let_run()
        assert not call.done(), "29.9 s of the 30 s bound have passed"
        time.advance(0.1)
        with pytest.raises(PoolTimeoutError, match=r"within 30 s \(max_in_flight=2\)"):
            await call
        assert _free_slots(client) == 0
    assert _free_slots(client) == 2


async def test_a_slot_freed_before_the_deadline_is_taken_and_a_cancelled_wait_takes_none(
    stepped: tuple[VoiceClient, SteppedTime],
) -> None:
    client, time = stepped
    async with AsyncExitStack() as held:
        await held.enter_async_context(client.recordings.stream(RECORDING["url"]))
        async with client.recordings.stream(RECORDING["url"]):
            call = asyncio.ensure_future(client.recordings.get(RID))
            await time.until_someone_sleeps()
            time.advance(10)
        assert (await call).id == RID  # the freed slot, 20 s before the bound
        assert all(woken.cancelled() for _, woken in time.waiting), "the bound's timer was stopped"
        assert _free_slots(client) == 1

        async with client.recordings.stream(RECORDING["url"]):
            waiting = asyncio.ensure_future(client.recordings.get(RID))
            await time.until_someone_sleeps()
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        await _let_run()
        assert _free_slots(client) == 1, "the cancelled wait holds no slot"
    assert _free_slots(client) == 2


async def test_a_stream_releases_its_slot_on_break_error_and_cancellation(
    small_client: VoiceClient, mocked: aioresponses
) -> None:
    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    async with small_client.recordings.stream(RECORDING["url"]) as stream:
        assert stream.status == 200 and _free_slots(small_client) == 3
        async for _chunk in stream.iter_bytes(chunk_size=100):
            break
    assert _free_slots(small_client) == 4 and stream.closed
    with pytest.raises(InvalidRequestError, match="closed"):
        await stream.read()

    with pytest.raises(RuntimeError, match="boom"):
        async with small_client.recordings.stream(RECORDING["url"]):
            raise RuntimeError("boom")
    assert _free_slots(small_client) == 4

    entered, never = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with small_client.recordings.stream(RECORDING["url"]):
            entered.set()
            await never.wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    assert _free_slots(small_client) == 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _free_slots(small_client) == 4


async def test_a_stream_reads_the_whole_body(small_client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(FILE_RE, body=AUDIO, content_type="audio/wav")
    recording = Recording(**{**RECORDING, "type": "converted", "state": "done"})  # type: ignore[arg-type]
    async with small_client.recordings.stream(recording) as stream:
        assert stream.content_type == "audio/wav"
        assert await stream.read() == AUDIO


async def test_iter_bytes_is_deprecated_but_still_works(small_client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(FILE_RE, body=AUDIO)
    with pytest.deprecated_call(match=r"recordings\.stream"):
        chunks = small_client.recordings.iter_bytes(RECORDING["url"])
    assert b"".join([c async for c in chunks]) == AUDIO


@pytest.mark.parametrize("sep", ["/", "os.sep"])
async def test_a_trailing_separator_means_into_this_directory(
    small_client: VoiceClient, mocked: aioresponses, tmp_path: Path, sep: str
) -> None:
    import os

    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    out = f"{tmp_path / 'out'}{os.sep if sep == 'os.sep' else sep}"
    result = await small_client.recordings.download(RECORDING["url"], out)
    assert result.path == tmp_path / "out" / "take.wav" and result.path.read_bytes() == AUDIO

    existing = tmp_path / "existing"
    existing.mkdir()
    into = await small_client.recordings.download(RECORDING["url"], existing)
    assert into.path == existing / "take.wav" and into.path.read_bytes() == AUDIO
    as_file = await small_client.recordings.download(RECORDING["url"], tmp_path / "named.wav")
    assert as_file.path == tmp_path / "named.wav" and as_file.path.is_file()
    assert list(tmp_path.glob("**/.*.part")) == [], "the write tried as a file onto `existing` left nothing"


@pytest.mark.parametrize("where", ["a-file/", "a-file/take.wav", "a-file/deeper/"])
async def test_a_destination_under_a_file_is_refused_before_any_request(
    small_client: VoiceClient, mocked: aioresponses, tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_bytes(b"not a folder")
    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    with pytest.raises(InvalidRequestError, match=r"cannot download into .*a-file.*is a file"):
        await small_client.recordings.download(RECORDING["url"], f"{tmp_path}/{where}")
    assert not mocked.requests, "nothing was downloaded only to be thrown away"
    assert (tmp_path / "a-file").read_bytes() == b"not a folder"


def _count_folder_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The folders the client checks (makes) before a download's request, in order."""
    from voiceapi_async import _downloads

    checked: list[str] = []
    make = _downloads._make_folder

    def counting(folder: str) -> None:
        checked.append(folder)
        make(folder)

    monkeypatch.setattr(_downloads, "_make_folder", counting)
    return checked


@pytest.mark.parametrize("trailing", [True, False], ids=["into-folder", "file-path"])
async def test_a_folder_is_checked_once_and_made_again_by_the_write_when_it_vanished(
    small_client: VoiceClient, mocked: aioresponses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trailing: bool
) -> None:
    checked = _count_folder_checks(monkeypatch)
    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    out = tmp_path / "new" / "out"

    def destination(n: int) -> str:
        return f"{out}/" if trailing else f"{out}/take-{n}.wav"

    first = await small_client.recordings.download(RECORDING["url"], destination(1))
    second = await small_client.recordings.download(RECORDING["url"], destination(2))
    assert len(checked) == 1, "the second download into the same folder made no check of its own"
    assert first.path.read_bytes() == second.path.read_bytes() == AUDIO

    for f in out.iterdir():
        f.unlink()
    out.rmdir()  # the folder vanished after the client checked it
    third = await small_client.recordings.download(RECORDING["url"], destination(3))
    assert third.path.parent == out and third.path.read_bytes() == AUDIO
    assert len(checked) == 1
    assert [p.name for p in out.iterdir()] == [third.path.name], "no partial file left behind"


async def test_a_checked_folder_replaced_by_a_file_is_refused_and_then_refused_before_the_request(
    small_client: VoiceClient, mocked: aioresponses, tmp_path: Path
) -> None:
    mocked.get(FILE_RE, body=AUDIO, repeat=True)
    out = tmp_path / "out"
    await small_client.recordings.download(RECORDING["url"], out / "a.wav")
    (out / "a.wav").unlink()
    out.rmdir()
    out.write_bytes(b"not a folder")
    with pytest.raises(InvalidRequestError, match=r"cannot download into .*out.*is a file"):
        await small_client.recordings.download(RECORDING["url"], out / "b.wav")
    sent = len(mocked.requests[("GET", next(iter(mocked.requests))[1])])
    with pytest.raises(InvalidRequestError, match=r"cannot download into .*out.*is a file"):
        await small_client.recordings.download(RECORDING["url"], out / "c.wav")
    assert len(mocked.requests[("GET", next(iter(mocked.requests))[1])]) == sent, "forgotten: refused before it"
    assert out.read_bytes() == b"not a folder"


async def test_a_client_remembers_a_bounded_number_of_folders(tmp_path: Path) -> None:
    from voiceapi_async._downloads import DownloadFolders

    folders = DownloadFolders(limit=2)
    for name in ("a", "b", "c"):
        assert await folders.check(tmp_path / name / "x.wav") == str(tmp_path / name)
    assert len(folders) == 2 and str(tmp_path / "a") not in folders and str(tmp_path / "c") in folders
    assert (tmp_path / "a").is_dir() and (tmp_path / "c").is_dir()


async def test_a_download_broken_mid_body_is_retried_by_the_transport(
    fake_time: FakeTime, mocked: aioresponses, tmp_path: Path
) -> None:
    import random

    events: list[HTTPEvent] = []
    client = VoiceClient(
        api_key=API_KEY,
        base_url=BASE,
        rate_limits=RateLimits.disabled(),
        event_hooks=[events.append],
        _sleep=fake_time.sleep,
        _clock=fake_time.clock,
        _rng=random.Random(7),
    )
    async with client:
        mocked.get(FILE_RE, exception=aiohttp.ClientPayloadError("connection lost mid-body"))
        mocked.get(FILE_RE, body=AUDIO)
        result = await client.recordings.download(RECORDING["url"], tmp_path / "a.wav")
    assert result.path.read_bytes() == AUDIO
    retries = [e for e in events if e.kind == "retry"]
    assert len(retries) == 1 and "ClientPayloadError" in (retries[0].error or "")
    expected = client.retry_policy.delay(1, None, random.Random(7))
    assert fake_time.sleeps == [expected], "the transport's policy, jitter source and sleep"


async def test_recordings_wait_polls_on_the_client_clock(
    client: VoiceClient, mocked: aioresponses, fake_time: FakeTime
) -> None:
    states = iter(["processing", "processing", "done"])

    def answer(url: Any, **kwargs: Any) -> CallbackResult:  # then "processing" for ever
        return CallbackResult(payload={**RECORDING, "type": "converted", "state": next(states, "processing")})

    mocked.get(REC_URL, callback=answer, repeat=True)
    started = fake_time.now
    done = await client.recordings.wait(RID, interval=2, max_interval=30)
    assert done.state == "done" and fake_time.sleeps == [2, 3]
    assert fake_time.now - started == 5

    fake_time.sleeps.clear()
    with pytest.raises(APITimeoutError, match="still not finished after 10"):
        await client.recordings.wait(RID, interval=2, max_interval=30, timeout=10)
    assert fake_time.sleeps == [2, 3, 4.5]  # a fourth wait (6.75 s) would pass the 10 s deadline


async def test_a_broken_stream_raises_a_typed_error(small_client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(FILE_RE, body=AUDIO)
    async with small_client.recordings.stream(RECORDING["url"]) as stream:
        stream._response.content.set_exception(aiohttp.ClientPayloadError("reset"))
        with pytest.raises(APIConnectionError, match="broke off: ClientPayloadError"):
            await stream.read()
    assert _free_slots(small_client) == 4

"""recordings.watch(): many recordings (and many watchers) followed with one list call per project a round."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tests.jobs.conftest import fast_config, make_client
from tests.jobs.helpers import make_tree, wav_bytes
from voiceapi_async import (
    APIStatusError,
    APITimeoutError,
    ConversionTarget,
    Recording,
    RecordingState,
    RetryPolicy,
    VoiceClient,
)
from voiceapi_async.emulator import Emulator, FaultConfig
from voiceapi_async.jobs import BatchConvertJob, JobStatus


async def _conversions(client: VoiceClient, emu: Emulator, n: int) -> tuple[str, list[str]]:
    """``n`` conversions ordered in a new folder: (folder id, conversion ids)."""
    project = await client.projects.create("watch")
    folder = await client.folders.create(project.id, "in")
    voice = emu.store.catalogue.voices[0]
    ids = []
    for i in range(n):
        original = await client.recordings.create(folder.id, wav_bytes(0.2, 200 + i), label=f"take {i}")
        orders = await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id)])
        ids.append(orders[0].conversion_id)
    return folder.id, ids


def _count_rounds(client: VoiceClient) -> list[float]:
    """The client's waits between rounds, recorded as they happen (the waits themselves still real)."""
    rounds: list[float] = []
    real_sleep = client._transport._sleep

    async def counting_sleep(seconds: float) -> None:
        rounds.append(seconds)
        await real_sleep(seconds)

    client._transport._sleep = counting_sleep
    return rounds


async def test_watch_yields_each_recording_once_final_with_one_list_call_a_round() -> None:
    config = fast_config(conversion_delay=(0.05, 0.4))
    async with Emulator(config) as emu, make_client(emu) as client:
        folder_id, ids = await _conversions(client, emu, 6)
        before = emu.counters.snapshot()["requests_by_route"]
        rounds = _count_rounds(client)
        finished: list[Recording] = [r async for r in client.recordings.watch(ids, folder_id=folder_id, interval=0.05)]
        after = emu.counters.snapshot()["requests_by_route"]
    assert sorted(r.id for r in finished) == sorted(ids)
    assert all(r.state is RecordingState.DONE for r in finished)
    lists = after.get("recordings.list", 0) - before.get("recordings.list", 0)
    assert after.get("recordings.get", 0) == before.get("recordings.get", 0)  # no request per recording
    assert 1 <= lists <= len(rounds)  # one list call a round for the folder (its 12 recordings fit a page)


async def test_watch_learns_the_folder_of_bare_ids_once_and_yields_finished_ones_at_once() -> None:
    async with Emulator(fast_config()) as emu, make_client(emu) as client:
        _, ids = await _conversions(client, emu, 3)
        done = await client.recordings.wait(ids[0], interval=0.05)
        before = emu.counters.snapshot()["requests_by_route"].get("recordings.get", 0)
        finished = [r async for r in client.recordings.watch([done, *ids[1:]], interval=0.05)]
        gets = emu.counters.snapshot()["requests_by_route"].get("recordings.get", 0) - before
    assert finished[0] is done  # already final: yielded without a request
    assert sorted(r.id for r in finished) == sorted(ids)
    assert gets == 2  # each bare id fetched once to learn where it lives, then listed with its folder


async def test_watch_times_out_on_the_client_clock() -> None:
    async with Emulator(fast_config(conversion_delay=(30.0, 30.0))) as emu, make_client(emu) as client:
        folder_id, ids = await _conversions(client, emu, 2)
        with pytest.raises(APITimeoutError, match="2 recordings still not finished"):
            async for _ in client.recordings.watch(ids, folder_id=folder_id, interval=0.05, timeout=0.3):
                pass


async def test_a_round_waiting_for_a_few_recordings_fetches_a_small_first_page() -> None:
    """Newest first, what a round waits for is among the newest: it does not fetch and decode 200 recordings."""
    async with Emulator(fast_config()) as emu, make_client(emu) as client:
        folder_id, ids = await _conversions(client, emu, 15)  # 30 recordings in the folder
        asked: list[int] = []
        real_list = client.recordings.list

        def counting_list(**kwargs: object) -> object:
            asked.append(int(str(kwargs["limit"])))
            return real_list(**kwargs)  # type: ignore[arg-type]

        client.recordings.list = counting_list  # type: ignore[method-assign]
        finished = [r.id async for r in client.recordings.watch(ids[-2:], folder_id=folder_id, interval=0.05)]
    assert sorted(finished) == sorted(ids[-2:])
    assert asked and all(limit < 30 for limit in asked)  # each round: one page, well short of the folder


async def test_concurrent_watchers_share_one_list_call_per_project_a_round() -> None:
    """N watchers of one project (a web backend's N waiting requests) cost one list call a round, not N."""
    async with Emulator(fast_config()) as emu, make_client(emu) as client:
        _, ids = await _conversions(client, emu, 4)
        done = [r async for r in client.recordings.watch(ids, interval=0.05)]
        stale = [msgspec.structs.replace(r, state=RecordingState.PROCESSING) for r in done]  # as first fetched
        sleeps: list[float] = []

        async def fake_sleep(seconds: float) -> None:
            sleeps.append(seconds)

        client._transport._sleep = fake_sleep
        before = emu.counters.snapshot()["requests_by_route"]

        async def one_watcher(watched: list[Recording]) -> list[str]:
            return [r.id async for r in client.recordings.watch(watched, interval=0.05)]

        got = await asyncio.gather(*(one_watcher(stale[i % 4 :] + stale[: i % 4]) for i in range(8)))
        after = emu.counters.snapshot()["requests_by_route"]
    assert all(sorted(g) == sorted(ids) for g in got)
    # the first watch() may have found every conversion final by its fetch and listed nothing
    assert after["recordings.list"] - before.get("recordings.list", 0) == 1 == len(sleeps)  # one round served all 8
    assert after.get("recordings.get", 0) == before.get("recordings.get", 0)


async def test_a_failed_pass_reaches_every_watcher_of_the_project_and_a_new_watch_goes_on() -> None:
    async with Emulator(fast_config()) as emu, make_client(emu, retry=RetryPolicy(max_retries=0)) as client:
        _, ids = await _conversions(client, emu, 2)
        done = [r async for r in client.recordings.watch(ids, interval=0.05)]
        stale = [msgspec.structs.replace(r, state=RecordingState.PROCESSING) for r in done]
        emu.set_faults(FaultConfig(error_rate=1.0, endpoints=("recordings.list",)))

        async def one_watcher() -> BaseException | None:
            try:
                async for _ in client.recordings.watch(stale, interval=0.05):
                    pass
            except APIStatusError as exc:
                return exc
            return None

        errors = await asyncio.gather(one_watcher(), one_watcher(), one_watcher())
        assert all(isinstance(e, APIStatusError) and e.status_code >= 500 for e in errors)
        emu.set_faults()
        finished = [r async for r in client.recordings.watch(stale, interval=0.05)]
    assert sorted(r.id for r in finished) == sorted(ids)


async def test_a_job_and_a_watcher_on_its_project_share_the_rounds(tmp_path: Path) -> None:
    """The job's poller is one more subscriber: every list call of both comes from the client's one loop."""
    async with Emulator(fast_config(conversion_delay=(0.2, 0.3))) as emu, make_client(emu) as client:
        project = await client.projects.create("voiceapi-async jobs")  # the job's default project, found by name
        folder = await client.folders.create(project.id, "elsewhere")
        voice = emu.store.catalogue.voices[0]
        original = await client.recordings.create(folder.id, wav_bytes(0.2, 300), label="watched")
        conversion = (await client.orders.create(original.id, [ConversionTarget(voice_id=voice.id)]))[0]
        make_tree(tmp_path / "in", 3)
        rounds = _count_rounds(client)
        before = emu.counters.snapshot()["requests_by_route"].get("recordings.list", 0)
        job = BatchConvertJob(client, tmp_path / "in", [voice.name], tmp_path / "out", poll_interval=0.05)

        async def watch() -> list[Recording]:
            return [r async for r in client.recordings.watch([conversion.conversion_id], project_id=project.id)]

        summary, watched = await asyncio.gather(job.run_to_completion(), watch())
        lists = emu.counters.snapshot()["requests_by_route"]["recordings.list"] - before
    assert summary.status is JobStatus.COMPLETED and [r.id for r in watched] == [conversion.conversion_id]
    assert 1 <= lists <= len(rounds)  # no list call outside the shared rounds (the job had a loop of its own)

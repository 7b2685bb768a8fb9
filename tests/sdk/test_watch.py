"""recordings.watch(): many recordings followed with one list call per folder a round, yielded as they finish."""

from __future__ import annotations

import pytest

from tests.jobs.conftest import fast_config, make_client
from tests.jobs.helpers import wav_bytes
from voiceapi_async import APITimeoutError, ConversionTarget, Recording, RecordingState, VoiceClient
from voiceapi_async.emulator import Emulator


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


async def test_watch_yields_each_recording_once_final_with_one_list_call_a_round() -> None:
    config = fast_config(conversion_delay=(0.05, 0.4))
    async with Emulator(config) as emu, make_client(emu) as client:
        folder_id, ids = await _conversions(client, emu, 6)
        before = emu.counters.snapshot()["requests_by_route"]
        rounds: list[float] = []
        real_sleep = client._transport._sleep

        async def counting_sleep(seconds: float) -> None:
            rounds.append(seconds)
            await real_sleep(seconds)

        client._transport._sleep = counting_sleep
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

"""Transient failures are never final: the item waits, comes back, or is left pending for the next run.

Only what retrying cannot fix fails an item.  Conversion retries count only when the
server carried them out, and a 402 stops paid work but not the delivery of what is paid.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from voiceapi_async import RateLimits, RetryPolicy, VoiceClient
from voiceapi_async._resources._conversion import Orders
from voiceapi_async.emulator import Emulator, FaultConfig
from voiceapi_async.jobs import BatchConvertJob, ItemFailed, ItemPostponed, JobStatus, JobStoppedError
from voiceapi_async.jobs._journal import Journal
from voiceapi_async.jobs._retry import Retrier

from .conftest import JOB_FAST, make_client
from .helpers import make_tree, wav_bytes

FAST = {**JOB_FAST, "retry_delay": 0.01, "max_retry_delay": 0.02}


def _on_fake_clock(emu: Emulator, sleep: Callable[[float], Awaitable[None]]) -> VoiceClient:
    """A client whose every wait (SDK retries, the job's back-offs) goes through ``sleep``."""
    retry = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02)
    return VoiceClient(
        api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled(), retry=retry, _sleep=sleep
    )


def _assert_once(emu: Emulator, n: int) -> None:
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == n, snap
    assert max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == n
    assert max(snap["orders_by_original"].values()) == 1


async def test_5xx_on_orders_leaves_items_pending_and_a_rerun_completes(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 10)
    emu.set_faults(FaultConfig(error_rate=0.9, endpoints=("orders.create",), seed=11))
    job = BatchConvertJob(
        client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_attempts=2, max_deferrals=1, **FAST
    )
    events = [e async for e in job.run()]
    first = job.summary
    assert first is not None
    assert first.status is JobStatus.INCOMPLETE
    assert first.failed == 0 and not any(isinstance(e, ItemFailed) for e in events)
    assert first.pending > 0 and first.done + first.pending == 10
    left = [e for e in events if isinstance(e, ItemPostponed) and e.retry_in is None]
    assert len(left) == first.pending and all(e.stage == "order" and "attempts failed" in e.reason for e in left)
    # The faults are gone: the same job again finishes everything, nothing uploaded or ordered twice.
    emu.set_faults()
    again = await BatchConvertJob(
        client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST
    ).run_to_completion()
    assert again.status is JobStatus.COMPLETED and again.done == 10
    _assert_once(emu, 10)


async def test_the_same_run_comes_back_after_a_backoff_on_the_clients_clock(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 6)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        if seconds >= 1:  # the job's back-off (the SDK's own retries wait less): the outage ends meanwhile
            emu.set_faults()

    emu.set_faults(FaultConfig(error_rate=1.0, endpoints=("recordings.create",), seed=3))
    async with _on_fake_clock(emu, fake_sleep) as client:
        job = BatchConvertJob(
            client,
            tmp_path / "in",
            voice_names[:1],
            tmp_path / "out",
            max_attempts=1,
            retry_delay=30.0,
            max_retry_delay=60.0,
            poll_interval=0.05,
            max_poll_interval=0.2,
        )
        events = [e async for e in job.run()]
    summary = job.summary
    assert summary is not None and summary.status is JobStatus.COMPLETED and summary.done == 6
    postponed = [e for e in events if isinstance(e, ItemPostponed)]
    assert postponed and all(e.stage == "upload" and e.retry_in == 30.0 for e in postponed)
    assert 30.0 in slept  # waited on the client's (fake) clock, not on the wall clock
    _assert_once(emu, 6)


async def test_conversion_retries_count_only_what_the_server_did(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 10)
    emu.config.conversion_error_rate = 1.0
    emu.set_faults(FaultConfig(error_rate=0.5, endpoints=("orders.retry",), seed=5))
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_conversion_retries=2, **FAST)
    summary = await job.run_to_completion()
    snap = emu.counters.snapshot()
    assert snap["errors_injected"] > 0  # some retries were refused with a 5xx and sent again
    assert snap["retries_total"] == 20 == summary.conversion_retries
    assert summary.failed == 10 and all("retried 2x" in f.reason for f in summary.failures)


async def test_a_listing_older_than_a_retrys_answer_does_not_schedule_another(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race behind a flaky count: a poll listed (and read the journal) before a retry was answered.

    Each retry is held until a poll has listed the recording (still in error) and read its
    journal row; that poll then applies its listing only after the retry was answered.
    Acting on it sent a retry the server had just carried out: one retry too many, and
    the count off.
    """
    waiting, listed, answered = asyncio.Event(), asyncio.Event(), asyncio.Event()
    lookup, retry, announce = Journal.lookup, Orders.retry, Retrier._announce

    async def stale_lookup(self: Journal, ids: Sequence[str], errored: Sequence[str] = ()) -> Any:
        rows = await lookup(self, ids, errored)
        if waiting.is_set():
            waiting.clear()
            answered.clear()
            listed.set()
            await answered.wait()
        return rows

    async def held_retry(self: Orders, recording_id: str) -> Any:
        listed.clear()
        waiting.set()
        await listed.wait()
        return await retry(self, recording_id)

    async def announced(self: Retrier, out: Any, error: str) -> None:
        await announce(self, out, error)
        answered.set()

    monkeypatch.setattr(Journal, "lookup", stale_lookup)
    monkeypatch.setattr(Orders, "retry", held_retry)
    monkeypatch.setattr(Retrier, "_announce", announced)
    make_tree(tmp_path / "in", 1)
    emu.config.conversion_error_rate = 1.0
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_conversion_retries=2, **FAST)
    summary = await job.run_to_completion()
    assert emu.counters.snapshot()["retries_total"] == 2 == summary.conversion_retries
    assert summary.failed == 1 and "retried 2x" in summary.failures[0].reason


async def test_402_delivers_what_is_paid_then_the_rerun_after_a_top_up_goes_on(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(30):
        (src / f"a{i:02d}.wav").write_bytes(wav_bytes(1.0, 200 + i))
    user = emu.store.users[emu.users[0].id]
    user.credits = 20.0  # 20 conversions of 1 s are paid for, then 402
    async with make_client(emu) as client:
        job = BatchConvertJob(client, src, voice_names[:1], tmp_path / "out", force=True, **FAST)
        with pytest.raises(JobStoppedError, match="out of credits") as stopped:
            await job.run_to_completion()
        summary = stopped.value.summary
        assert summary.status is JobStatus.STOPPED
        assert emu.counters.snapshot()["conversions_created"] == 20
        assert summary.done == 20 and summary.output_count == 20  # everything paid is delivered
        assert summary.failed == 0 and summary.pending == 10
        user.credits = 100.0
        resumed = await BatchConvertJob(client, src, voice_names[:1], tmp_path / "out", **FAST).run_to_completion()
    assert resumed.status is JobStatus.COMPLETED and resumed.done == 30
    snap = emu.counters.snapshot()
    assert snap["conversions_created"] == 30
    assert max(snap["uploads_by_label"].values()) == 1 and max(snap["orders_by_original"].values()) == 1


async def test_retry_failed_tries_final_failures_again_on_request(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 4)
    emu.config.conversion_error_rate = 1.0
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_conversion_retries=1, **FAST)
    assert (await job.run_to_completion()).failed == 4
    # Without asking, a failure stays final: nothing is sent again.
    same = await BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST).run_to_completion()
    assert same.failed == 4 and emu.counters.snapshot()["retries_total"] == 4
    emu.config.conversion_error_rate = 0.0
    retried = await BatchConvertJob(
        client, tmp_path / "in", voice_names[:1], tmp_path / "out", retry_failed=True, **FAST
    ).run_to_completion()
    assert retried.status is JobStatus.COMPLETED and retried.done == 4
    snap = emu.counters.snapshot()
    assert snap["retries_total"] == 8  # the errored conversions were retried, not ordered again
    _assert_once(emu, 4)


@pytest.mark.parametrize("plan_first", [False, True])
async def test_set_up_waits_out_a_429_burst_longer_than_the_sdks_retries(
    tmp_path: Path, emu: Emulator, voice_names: list[str], plan_first: bool
) -> None:
    """``plan_first``: as the CLI does (a burst in the plan's voice lookup ended it, exit 5: found by scripts/chaos.py)."""
    make_tree(tmp_path / "in", 3)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    emu.set_faults(FaultConfig(burst_429=12, burst_429_retry_after=0.01))
    async with _on_fake_clock(emu, fake_sleep) as client:
        job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", retry_delay=5.0, **JOB_FAST)
        if plan_first:
            assert (await job.plan()).items == 3
        summary = await job.run_to_completion()
    assert summary.status is JobStatus.COMPLETED and summary.done == 3
    assert summary.rate_limited == 12 and 5.0 in slept  # the SDK gave up, the job waited (on the fake clock)
    _assert_once(emu, 3)


async def test_downloads_that_keep_failing_wait_and_come_back_in_the_same_run(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 4)

    async def fake_sleep(seconds: float) -> None:
        if seconds >= 1:  # the job's back-off: the file server recovers meanwhile
            emu.set_faults()

    emu.set_faults(FaultConfig(error_rate=1.0, endpoints=("files.get",), seed=9))
    async with _on_fake_clock(emu, fake_sleep) as client:
        job = BatchConvertJob(
            client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_attempts=1, retry_delay=20.0, **JOB_FAST
        )
        events = [e async for e in job.run()]
    summary = job.summary
    assert summary is not None and summary.status is JobStatus.COMPLETED and summary.done == 4
    postponed = [e for e in events if isinstance(e, ItemPostponed)]
    assert postponed and all(e.stage == "download" and e.retry_in == 20.0 for e in postponed)
    assert not any(isinstance(e, ItemFailed) for e in events)
    _assert_once(emu, 4)

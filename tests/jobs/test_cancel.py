"""Cancelling a running job: in-flight requests finish, the journal matches the server, resume finishes."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator, FaultConfig
from voiceapi_async.jobs import BatchConvertJob, ItemUploaded, JobStatus, Progress

from .conftest import JOB_FAST
from .helpers import make_tree

FAST = {**JOB_FAST, "retry_delay": 0.01}


async def test_cancel_leaves_a_consistent_journal_and_resume_finishes(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 30)
    args = (client, tmp_path / "in", voice_names[:1], tmp_path / "out")
    # Slow uploads and orders, so that cancellation finds several of them in flight.
    emu.set_faults(FaultConfig(latency=0.05, endpoints=("recordings.create", "orders.create")))
    job = BatchConvertJob(*args, upload_concurrency=4, **FAST)
    uploaded = asyncio.Event()
    seen: list[object] = []

    async def consume() -> None:
        async for event in job.run():
            seen.append(event)
            if sum(isinstance(e, ItemUploaded) for e in seen) >= 6:
                uploaded.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(uploaded.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert job.summary is not None and job.summary.status is JobStatus.CANCELLED
    assert job.summary.done < 30

    # Every request that reached the server is in the journal, and no intent is left dangling.
    db = sqlite3.connect(job.journal_path)
    stages = dict(db.execute("SELECT stage, count(*) FROM items GROUP BY stage").fetchall())
    with_original = db.execute("SELECT count(*) FROM items WHERE original_id IS NOT NULL").fetchone()[0]
    ordered = db.execute("SELECT count(DISTINCT item_seq) FROM outputs").fetchone()[0]
    db.close()
    assert "creating" not in stages and "ordering" not in stages, stages
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == with_original
    assert snap["orders_total"] == ordered

    emu.set_faults()
    progress: list[Progress] = []
    summary = await BatchConvertJob(*args, **FAST).run_to_completion(on_progress=progress.append)
    assert summary.done == 30
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == 30 and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == 30 and max(snap["orders_by_original"].values()) == 1
    # Progress: counts per stage add up to the total, and the last report is the end.
    assert progress and all(sum(p.stages.values()) == p.total == 30 for p in progress)
    assert progress[-1].done == 30 and progress[-1].eta == 0.0


async def test_a_stop_between_the_upload_and_the_order_journals_the_original_made(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original's id waits for the order's intent (one write); a stop before that intent journals it alone."""
    from voiceapi_async.jobs._convert import _ConvertKind

    make_tree(tmp_path / "in", 4)
    args = (client, tmp_path / "in", voice_names[:1], tmp_path / "out")
    create = _ConvertKind.create_original
    answering, release = asyncio.Event(), asyncio.Event()

    async def slow_answer(self: _ConvertKind, item: Any) -> Any:
        recording = await create(self, item)  # the server made it ...
        if item.seq == 2:
            answering.set()
            await release.wait()  # ... and its answer comes back after the job was cancelled
        return recording

    monkeypatch.setattr(_ConvertKind, "create_original", slow_answer)
    task = asyncio.create_task(BatchConvertJob(*args, upload_concurrency=1, **FAST).run_to_completion())
    await asyncio.wait_for(answering.wait(), 30)
    task.cancel()
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    monkeypatch.undo()

    db = sqlite3.connect(tmp_path / "out" / ".voiceapi-job.sqlite")
    stages = dict(db.execute("SELECT seq, stage FROM items WHERE original_id IS NOT NULL").fetchall())
    db.close()
    assert stages == {1: "converting", 2: "created"}  # the order of item 2 was never sent
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == 2 and snap["orders_total"] == 1

    job = BatchConvertJob(*args, **FAST)
    events = [e async for e in job.run()]
    assert job.summary is not None and job.summary.done == 4
    assert not any(isinstance(e, ItemUploaded) and e.reconciled for e in events)  # nothing to ask the server
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == 4 and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == 4 and max(snap["orders_by_original"].values()) == 1

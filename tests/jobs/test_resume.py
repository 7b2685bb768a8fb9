"""Resumption: in-process "crashes" at exact points, re-runs, and files removed from the output."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import BatchConvertJob, ItemOrdered, ItemUploaded, JobStatus
from voiceapi_async.jobs._journal import Journal, read_meta

from .conftest import JOB_FAST
from .helpers import make_tree

FAST = {**JOB_FAST, "retry_delay": 0.01}


class Crash(Exception):
    """Stands for the process dying at this exact point."""


def crash_once(monkeypatch: pytest.MonkeyPatch, method: str, *, on_call: int) -> list[int]:
    """Make ``Journal.<method>`` raise ``Crash`` on its ``on_call``-th call (after the request succeeded)."""
    original = getattr(Journal, method)
    calls = [0]

    async def patched(self: Journal, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == on_call:
            raise Crash(method)
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(Journal, method, patched)
    return calls


async def test_crash_between_upload_and_journal_reconciles(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path / "in", 8)
    args = (client, tmp_path / "in", voice_names[:1], tmp_path / "out")
    crash_once(monkeypatch, "set_ordering", on_call=3)
    with pytest.raises(Crash):
        async for _ in BatchConvertJob(*args, upload_concurrency=1, **FAST).run():
            pass
    monkeypatch.undo()
    uploads_before = emu.counters.snapshot()["uploads_total"]
    assert uploads_before >= 3
    job = BatchConvertJob(*args, **FAST)
    events = [e async for e in job.run()]
    assert job.summary is not None and job.summary.status is JobStatus.COMPLETED
    reconciled = [e for e in events if isinstance(e, ItemUploaded) and e.reconciled]
    assert len(reconciled) == 1
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == 8 and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == 8


async def test_crash_between_order_and_journal_reconciles(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path / "in", 6)
    args = (client, tmp_path / "in", voice_names[:3], tmp_path / "out")
    crash_once(monkeypatch, "set_converting", on_call=2)
    with pytest.raises(Crash):
        async for _ in BatchConvertJob(*args, upload_concurrency=1, **FAST).run():
            pass
    monkeypatch.undo()
    job = BatchConvertJob(*args, **FAST)
    events = [e async for e in job.run()]
    assert job.summary is not None and job.summary.done == 6
    assert sum(isinstance(e, ItemOrdered) and e.reconciled for e in events) == 1
    snap = emu.counters.snapshot()
    assert snap["orders_total"] == 6 and max(snap["orders_by_original"].values()) == 1
    assert snap["conversions_created"] == 18
    assert len(job.summary.output_files) == 18


async def test_rerun_sends_nothing_and_missing_files_come_back(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 5)
    args = (client, tmp_path / "in", voice_names[:2], tmp_path / "out")
    first = await BatchConvertJob(*args, **FAST).run_to_completion()
    assert first.done == 5
    before = emu.counters.snapshot()
    again = await BatchConvertJob(*args, **FAST).run_to_completion()
    after = emu.counters.snapshot()
    assert again.done == 5 and again.status is JobStatus.COMPLETED
    for key in ("uploads_total", "orders_total", "retries_total"):
        assert after[key] == before[key]
    files_before = before["requests_by_route"].get("files.get", 0)
    assert after["requests_by_route"].get("files.get", 0) == files_before
    # One output removed, one truncated: only those two are fetched again.
    Path(first.output_files[0]).unlink()
    Path(first.output_files[3]).write_bytes(b"x")
    third = await BatchConvertJob(*args, **FAST).run_to_completion()
    final = emu.counters.snapshot()
    assert third.done == 5
    assert final["requests_by_route"]["files.get"] == files_before + 2
    assert final["uploads_total"] == before["uploads_total"]
    assert Path(first.output_files[0]).stat().st_size > 44
    assert Path(first.output_files[3]).stat().st_size > 44


@pytest.mark.parametrize("route", ["recordings.create", "orders.create"])
async def test_answer_lost_after_the_server_acted_is_reconciled_not_resent(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], route: str
) -> None:
    """Every upload (or order) succeeds on the server but its answer is lost: APIConnectionError(request_sent=True)."""
    from voiceapi_async.emulator import FaultConfig

    make_tree(tmp_path / "in", 5)
    emu.set_faults(FaultConfig(reset_after_rate=1.0, endpoints=(route,)))
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:2], tmp_path / "out", **FAST)
    events = [e async for e in job.run()]
    assert job.summary is not None and job.summary.done == 5
    kind = ItemUploaded if route == "recordings.create" else ItemOrdered
    assert sum(isinstance(e, kind) and e.reconciled for e in events) == 5
    snap = emu.counters.snapshot()
    assert snap["resets_after"] == 5
    assert snap["uploads_total"] == 5 and snap["orders_total"] == 5 and snap["conversions_created"] == 10


async def test_tts_crash_after_create_reconciles(
    tmp_path: Path, emu: Emulator, client: VoiceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voiceapi_async.jobs import ItemSynthesized, TTSJob

    texts = [f"Line number {i}." for i in range(6)]
    crash_once(monkeypatch, "set_created", on_call=2)
    with pytest.raises(Crash):
        await TTSJob(client, texts, tmp_path / "out", upload_concurrency=1, **FAST).run_to_completion()
    monkeypatch.undo()
    job = TTSJob(client, texts, tmp_path / "out", **FAST)
    events = [e async for e in job.run()]
    assert job.summary is not None and job.summary.done == 6
    assert sum(isinstance(e, ItemSynthesized) and e.reconciled for e in events) == 1
    assert emu.counters.snapshot()["tts_created"] == 6


async def test_key_revoked_mid_run_stops_then_resumes(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    from voiceapi_async.jobs import JobStoppedError

    make_tree(tmp_path / "in", 12)
    args = (client, tmp_path / "in", voice_names[:1], tmp_path / "out")
    user = emu.store.users[emu.users[0].id]
    seen = 0
    with pytest.raises(JobStoppedError, match="authentication") as info:
        async for event in BatchConvertJob(*args, upload_concurrency=1, **FAST).run():
            seen += isinstance(event, ItemUploaded)
            if seen == 4:
                emu.store.drop_api_keys(user)
    assert info.value.summary.status is JobStatus.STOPPED
    assert info.value.summary.done < 12
    emu.store.add_api_key(user, emu.api_key)
    summary = await BatchConvertJob(*args, **FAST).run_to_completion()
    assert summary.done == 12
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == 12 and snap["orders_total"] == 12


async def test_a_rerun_waits_for_conversions_an_earlier_run_ordered_in_a_later_round(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    """Poll rounds restart at 0 in each run: an output journaled in round 1000 of a killed run
    was not awaited until the re-run's own count passed 1000, and the newest-first pass, its
    first page sized to what is awaited, never reached it: the re-run polled for ever (found by
    scripts/chaos.py)."""
    make_tree(tmp_path / "in", 40)
    out = tmp_path / "out"
    assert (
        await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
    ).done == 40
    # The oldest item, as a run killed in its poll round 1000 left it: ordered, still awaited.
    with sqlite3.connect(out / ".voiceapi-job.sqlite") as db:
        db.execute("UPDATE items SET stage = 'converting' WHERE seq = 1")
        db.execute(
            "UPDATE outputs SET stage = 'processing', since_round = 1000, url = NULL, path = NULL WHERE item_seq = 1"
        )
    summary = await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
    assert summary.status is JobStatus.COMPLETED and summary.done == 40
    assert summary.requests_by_endpoint.get("GET /api/recordings", 0) <= 3  # 1000 rounds without the fix


async def test_partial_downloads_of_outputs_journaled_only_processing_are_removed_on_resume(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output's ``converted`` is a plain write: a run can die downloading it before it is committed."""
    make_tree(tmp_path / "in", 3)
    out = tmp_path / "out"
    args = (client, tmp_path / "in", voice_names[:1], out)
    crash_once(
        monkeypatch, "set_output", on_call=1
    )  # the first conversion seen done: the run dies before journaling it
    with pytest.raises(Crash):
        await BatchConvertJob(*args, **FAST).run_to_completion()
    monkeypatch.undo()
    db = sqlite3.connect(out / ".voiceapi-job.sqlite")
    try:
        assert {stage for (stage,) in db.execute("SELECT stage FROM outputs")} <= {"processing"}
        [slug] = [target["slug"] for target in read_meta(db, "resolved_targets")]
        rels = [rel for (rel,) in db.execute("SELECT rel FROM items")]
    finally:
        db.close()
    partials = []
    for rel in rels:  # what a download killed halfway leaves next to its destination
        destination = out / f"{Path(rel).with_suffix('')}.{slug}.wav"
        destination.parent.mkdir(parents=True, exist_ok=True)
        partials.append(destination.with_name(f".{destination.name}.dead00.part"))
        partials[-1].write_bytes(b"RIFF")
    summary = await BatchConvertJob(*args, **FAST).run_to_completion()
    assert summary.done == 3 and len(summary.output_files) == 3
    assert sorted(Path(f).name for f in summary.output_files) == sorted(p.name[1:-12] for p in partials)
    assert [p for p in out.rglob("*.part")] == []

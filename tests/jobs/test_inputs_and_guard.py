"""Bad inputs, the plan and the cost guard, unknown voices, account-level stops."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import (
    BatchConvertJob,
    CostGuardError,
    ItemFailed,
    JobStatus,
    JobStoppedError,
    JournalMismatchError,
    Target,
    UnknownVoiceError,
)
from voiceapi_async.jobs._journal import Journal

from .conftest import JOB_FAST, make_client
from .helpers import flac_bytes, make_tree, wav_bytes

FAST = {**JOB_FAST, "retry_delay": 0.01}


async def test_bad_inputs_fail_with_reasons_and_the_batch_goes_on(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    src = tmp_path / "in"
    make_tree(src, 3)
    (src / "empty.wav").write_bytes(b"")
    (src / "notes.wav").write_bytes(b"this is text, not audio at all")
    (src / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    (src / "broken.flac").write_bytes(b"fLaC\x00")
    (src / "ünïcødé — take #1 (final).wav").write_bytes(wav_bytes(0.2))
    locked = src / "locked.wav"
    locked.write_bytes(wav_bytes(0.2))
    locked.chmod(0)
    can_lock = not os.access(locked, os.R_OK)  # root reads anything
    missing = tmp_path / "gone.wav"
    job = BatchConvertJob(client, [src, missing], voice_names[:1], tmp_path / "out", **FAST)
    plan = await job.plan()
    expected_invalid = 5 + int(can_lock)
    assert plan.items == 10 and plan.invalid == expected_invalid
    reasons = {f.name: f.reason for f in plan.invalid_items}
    assert reasons["empty.wav"] == "empty file"
    assert "not wav, ogg, mp3 or flac" in reasons["notes.wav"]
    assert "corrupt WAV" in reasons["broken.wav"]
    assert "corrupt FLAC" in reasons["broken.flac"]
    assert "cannot read" in reasons["gone.wav"]
    events = [e async for e in job.run()]
    summary = job.summary
    assert summary is not None
    assert summary.status is JobStatus.COMPLETED_WITH_FAILURES
    assert summary.done == 10 - expected_invalid and summary.failed == expected_invalid
    assert {e.name for e in events if isinstance(e, ItemFailed)} == set(reasons)
    assert emu.counters.snapshot()["uploads_total"] == summary.done
    # The unicode name became a valid label (with its marker); the mapping is in the journal.
    journal = await Journal(job.journal_path).open()
    try:
        rows = await journal.items_in_stages(("done",), 0, 100)
    finally:
        await journal.close()
    label = next(r.label for r in rows if r.name.startswith("ünïcødé"))
    assert label is not None and len(label) <= 40
    assert label.startswith("n c d take 1 final ")
    assert any(Path(p).name.startswith("ünïcødé — take #1 (final).") for p in summary.output_files)


async def test_empty_directory_is_an_empty_job(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "readme.txt").write_text("not included by the default globs")
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST)
    plan = await job.plan()
    assert plan.items == 0 and plan.estimated_charge == 0
    summary = await job.run_to_completion()
    assert summary.total == 0 and summary.status is JobStatus.COMPLETED
    assert emu.counters.snapshot()["uploads_total"] == 0


async def test_include_exclude_and_mirror_tree(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 6, 2, subdirs=2)
    job = BatchConvertJob(
        client, tmp_path / "in", voice_names[:1], tmp_path / "out", exclude=["d1/*.wav"], mirror_tree=True, **FAST
    )
    summary = await job.run_to_completion()
    assert summary.done == 5  # d0: 3 wav + 1 flac; d1: 1 flac
    folders = {f.name for f in emu.store.folders.values() for f in [f.model]}
    assert {"d0", "d1"} <= folders
    assert {Path(p).parent.name for p in summary.output_files} == {"d0", "d1"}


async def test_unknown_voice_is_a_typed_error_before_any_upload(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    job = BatchConvertJob(client, tmp_path / "in", [voice_names[0], "No Such Voice Zz"], tmp_path / "out", **FAST)
    with pytest.raises(UnknownVoiceError, match="No Such Voice Zz"):
        await job.run_to_completion()
    bad_accent = BatchConvertJob(client, tmp_path / "in", [Target(voice_names[0], accent="Klingon")], tmp_path / "o2")
    with pytest.raises(UnknownVoiceError, match="accent"):
        await bad_accent.plan()
    assert emu.counters.snapshot()["uploads_total"] == 0


async def test_plan_numbers_and_cost_guard(tmp_path: Path, emu: Emulator, voice_names: list[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        (src / f"a{i}.wav").write_bytes(wav_bytes(0.5))  # 0.5 s each
    (src / "b.flac").write_bytes(flac_bytes(2.0))  # 2 s
    user = emu.store.users[emu.users[0].id]
    user.credits = 7.0  # 4 s of audio x 2 voices = 8 s needed
    async with make_client(emu) as client:
        job = BatchConvertJob(client, src, voice_names[:2], tmp_path / "out", **FAST)
        plan = await job.plan()
        assert plan.total_duration == pytest.approx(4.0)
        assert plan.estimated_charge == pytest.approx(8.0)
        assert plan.remaining_charge == pytest.approx(8.0)
        assert plan.credits == pytest.approx(7.0) and not plan.affordable
        with pytest.raises(CostGuardError) as info:
            await job.run_to_completion()
        assert info.value.plan.remaining_charge == pytest.approx(8.0)
        snap = emu.counters.snapshot()
        assert snap["uploads_total"] == 0 and snap["requests_by_status"].get("402", 0) == 0
        # force=True spends what there is: the orders that cannot be paid stop the batch (402) cleanly.
        forced = BatchConvertJob(
            client, src, voice_names[:2], tmp_path / "out", force=True, upload_concurrency=1, **FAST
        )
        with pytest.raises(JobStoppedError, match="out of credits") as stopped:
            await forced.run_to_completion()
        summary = stopped.value.summary
        assert summary.status is JobStatus.STOPPED and summary.done < 5
        # Credits topped up: the resumed job finishes without re-uploading anything.
        uploads = emu.counters.snapshot()["uploads_total"]
        user.credits = 100.0
        resumed = await BatchConvertJob(client, src, voice_names[:2], tmp_path / "out", **FAST).run_to_completion()
        assert resumed.done == 5
        snap = emu.counters.snapshot()
        assert snap["uploads_total"] == 5 and uploads <= 5
        assert max(snap["orders_by_original"].values()) == 1


async def test_bad_api_key_stops_cleanly(tmp_path: Path, emu: Emulator, voice_names: list[str]) -> None:
    make_tree(tmp_path / "in", 2)
    async with VoiceClient(api_key="emu-wrong", base_url=emu.base_url) as client:
        job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST)
        with pytest.raises(JobStoppedError, match="authentication"):
            await job.run_to_completion()
        assert job.summary is not None and job.summary.status is JobStatus.STOPPED


async def test_journal_of_another_job_is_refused(tmp_path: Path, client: VoiceClient, voice_names: list[str]) -> None:
    make_tree(tmp_path / "in", 1)
    other = BatchConvertJob(client, tmp_path / "in", voice_names[1:2], tmp_path / "out", **FAST)
    await BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST).plan()
    await other.plan()  # a plan locks nothing
    await BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST).run_to_completion()
    with pytest.raises(JournalMismatchError, match="targets"):
        await BatchConvertJob(client, tmp_path / "in", voice_names[1:2], tmp_path / "out", **FAST).plan()

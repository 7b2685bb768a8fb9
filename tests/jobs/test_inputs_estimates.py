"""Inputs and estimates: unreadable folders and empty texts are reported, MP3 durations are right,
and a run's summary counts every request it caused, set-up included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator, FaultConfig
from voiceapi_async.jobs import BatchConvertJob, ItemFailed, JobStatus, TTSJob
from voiceapi_async.jobs._audioinfo import probe_audio

from .conftest import JOB_FAST
from .helpers import make_tree, mp3_bytes


def test_mp3_durations_of_mpeg2_and_vbr_files(tmp_path: Path) -> None:
    cbr, seconds = mp3_bytes([32] * 300)  # 16 kHz MPEG-2 Layer III, 32 kbit/s
    (tmp_path / "cbr.mp3").write_bytes(cbr)
    assert probe_audio(tmp_path / "cbr.mp3").duration == pytest.approx(seconds, rel=0.01)
    vbr, seconds = mp3_bytes([8] * 150 + [160] * 50, vbr_header=True)  # the first frame's rate says nothing
    (tmp_path / "vbr.mp3").write_bytes(vbr)
    assert probe_audio(tmp_path / "vbr.mp3").duration == pytest.approx(seconds, rel=0.01)
    (tmp_path / "junk.mp3").write_bytes(b"ID3" + bytes(200))  # looks like MP3, has no frame: duration unknown
    assert probe_audio(tmp_path / "junk.mp3").duration is None


async def test_plan_prices_mp3_inputs_right(tmp_path: Path, client: VoiceClient, voice_names: list[str]) -> None:
    (tmp_path / "in").mkdir()
    data, seconds = mp3_bytes([24] * 500)
    (tmp_path / "in" / "talk.mp3").write_bytes(data)
    plan = await BatchConvertJob(client, tmp_path / "in", voice_names[:2], tmp_path / "out", **JOB_FAST).plan()
    assert plan.total_duration == pytest.approx(seconds, rel=0.01)
    assert plan.estimated_charge == pytest.approx(2 * seconds, rel=0.01)


async def test_an_unreadable_subfolder_is_a_failed_input(
    tmp_path: Path, client: VoiceClient, voice_names: list[str], unreadable: set[str]
) -> None:
    make_tree(tmp_path / "in", 4, subdirs=2)
    unreadable.add(str(tmp_path / "in" / "d1"))
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **JOB_FAST)
    plan = await job.plan()
    assert plan.items == 3 and plan.invalid == 1
    (bad,) = plan.invalid_items
    assert bad.name == "d1" and "cannot read the directory" in bad.reason and "Permission denied" in bad.reason
    events = [e async for e in job.run()]
    failed = [e for e in events if isinstance(e, ItemFailed)]
    assert [(e.name, e.stage) for e in failed] == [("d1", "validate")]
    assert job.summary is not None and job.summary.done == 2


async def test_an_empty_text_in_jsonl_is_reported(tmp_path: Path, client: VoiceClient) -> None:
    lines = tmp_path / "lines.jsonl"
    rows = [{"text": "First line."}, {"text": "   ", "label": "blank one"}, {"text": "Third line."}]
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    job = TTSJob(client, lines, tmp_path / "out", **JOB_FAST)
    plan = await job.plan()
    assert plan.items == 3 and plan.invalid == 1
    assert plan.invalid_items[0].name == "blank one" and "empty text" in plan.invalid_items[0].reason
    summary = await job.run_to_completion()
    assert summary.done == 2 and summary.failed == 1 and summary.status is JobStatus.COMPLETED_WITH_FAILURES


async def test_the_summary_counts_the_set_up_requests_too(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 3)
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **JOB_FAST)
    emu.set_faults(FaultConfig(burst_429=2, burst_429_retry_after=0.01, endpoints=("voices.search",)))
    before = emu.counters.snapshot()["requests_total"]
    await job.plan()  # what the CLI does first: voice lookups and the credits, here through two 429s
    summary = await job.run_to_completion()
    assert summary.requests == emu.counters.snapshot()["requests_total"] - before
    assert summary.rate_limited == 2
    assert summary.requests_by_endpoint["GET /api/v2/voices/search"] == 3


async def test_inputs_added_to_a_finished_job_are_uploaded_by_the_re_run(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    first = await BatchConvertJob(
        client, tmp_path / "in", voice_names[:1], tmp_path / "out", **JOB_FAST
    ).run_to_completion()
    assert first.done == 2
    (tmp_path / "in" / "late.wav").write_bytes((tmp_path / "in" / "clip 000.wav").read_bytes())
    again = await BatchConvertJob(
        client, tmp_path / "in", voice_names[:1], tmp_path / "out", **JOB_FAST
    ).run_to_completion()
    assert again.status is JobStatus.COMPLETED and again.done == 3
    assert emu.counters.snapshot()["uploads_total"] == 3

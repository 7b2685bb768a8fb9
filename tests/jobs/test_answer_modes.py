"""A batch convert job and a TTS job (styles by tags) against the emulator answering in each legal way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.answer_modes import MODE_PARAMS, apply_mode
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import BatchConvertJob, JobStatus, Target, TTSJob

from .conftest import JOB_FAST, fast_config, make_client
from .helpers import make_tree


@pytest.mark.parametrize("answer_mode", MODE_PARAMS)
async def test_batch_convert_in_every_answer_mode(tmp_path: Path, answer_mode: str) -> None:
    async with Emulator(apply_mode(fast_config(), answer_mode)) as emu, make_client(emu) as client:
        voices = [v.name for v in emu.store.catalogue.voices[:2]]
        make_tree(tmp_path / "in", 5, 1, subdirs=2)
        job = BatchConvertJob(
            client,
            tmp_path / "in",
            [voices[0], Target(voices[1], semitones_correction=1)],
            tmp_path / "out",
            **JOB_FAST,
        )
        summary = await job.run_to_completion()
        assert summary.status is JobStatus.COMPLETED, summary
        assert summary.done == 6 and summary.failed == 0
        assert summary.output_count == 12
        for f in summary.output_files:
            assert Path(f).stat().st_size > 44
        snap = emu.counters.snapshot()
        assert snap["uploads_total"] == 6 and snap["conversions_created"] == 12


@pytest.mark.parametrize("answer_mode", MODE_PARAMS)
async def test_tts_job_with_styles_by_tags_in_every_answer_mode(tmp_path: Path, answer_mode: str) -> None:
    async with Emulator(apply_mode(fast_config(), answer_mode)) as emu, make_client(emu) as client:
        targets = [Target("Aurora", narration_style_tags=("audiobook",)), Target("Orion")]
        job = TTSJob(client, ["First line.", "Second line."], tmp_path / "out", targets=targets, **JOB_FAST)
        summary = await job.run_to_completion()
        assert summary.status is JobStatus.COMPLETED, summary
        assert summary.done == 2 and summary.output_count == 4
        aurora = next(v for v in emu.store.catalogue.voices if v.name == "Aurora")
        narration = next(s.id for s in aurora.narration_styles if s.tags and "audiobook" in s.tags)
        used = {
            r.model.params["narration_style_id"]
            for r in emu.store.recordings.values()
            if r.model.model_name == "Aurora" and r.model.type.value == "converted"
        }
        assert used == {narration}

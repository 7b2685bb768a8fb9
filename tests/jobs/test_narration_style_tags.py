"""TTS jobs choose each target's narration style by tags."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import JobConfigError, Target, TTSJob, UnknownVoiceError

from .conftest import JOB_FAST

FAST = {**JOB_FAST, "retry_delay": 0.01}


def _style(emu: Emulator, voice: str, name: str) -> str:
    found = next(v for v in emu.store.catalogue.voices if v.name == voice)
    return next(s.id for s in found.narration_styles if s.info.name == name)


async def test_tts_job_picks_the_style_by_tags(tmp_path: Path, emu: Emulator, client: VoiceClient) -> None:
    targets = [Target("Aurora", narration_style_tags=("audiobook",)), Target("Basil Stone", label="basil")]
    summary = await TTSJob(
        client, ["One line.", "Another."], tmp_path / "out", targets=targets, **FAST
    ).run_to_completion()
    assert summary.done == 2 and summary.failed == 0
    used = {
        (r.model.model_name, r.model.params["narration_style_id"])
        for r in emu.store.recordings.values()
        if r.model.type.value == "converted"
    }
    # Aurora's "Narration" style is the one tagged audiobook (her default is "Neutral");
    # Basil Stone, without tags, gets his default.
    assert used == {
        ("Aurora", _style(emu, "Aurora", "Narration")),
        ("Basil Stone", _style(emu, "Basil Stone", "Neutral")),
    }


async def test_no_style_with_the_tags_stops_before_anything_is_sent(
    tmp_path: Path, emu: Emulator, client: VoiceClient
) -> None:
    job = TTSJob(
        client, ["Hi."], tmp_path / "out", targets=[Target("Aurora", narration_style_tags=("whisper",))], **FAST
    )
    with pytest.raises(UnknownVoiceError, match=r"no narration style tagged whisper .*Narration: narration, audiobook"):
        await job.run_to_completion()
    assert emu.counters.snapshot()["tts_created"] == 0


def test_target_tags_are_checked_when_made() -> None:
    assert Target("Aurora", narration_style_tags=["calm", "soft"]).narration_style_tags == ("calm", "soft")  # type: ignore[arg-type]
    with pytest.raises(JobConfigError, match="not both"):
        Target("Aurora", narration_style="Calm", narration_style_tags=("calm",))
    for bad in ("calm", (), ("",)):
        with pytest.raises(JobConfigError, match="narration_style_tags"):
            Target("Aurora", narration_style_tags=bad)  # type: ignore[arg-type]


def test_identity_of_a_target_without_tags_is_unchanged() -> None:
    """Journals written before tags existed still match the same job."""
    assert Target("Aurora", accent="EN-US").identity() == {
        "voice": "Aurora",
        "accent": "EN-US",
        "narration_style": None,
        "semitones_correction": None,
        "label": None,
    }
    assert Target("Aurora", narration_style_tags=("calm",)).identity()["narration_style_tags"] == ["calm"]

"""examples/batch_convert.py and examples/tts_pipeline.py against the emulator: real files, real counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.examples._load import load_example
from tests.jobs.helpers import make_tree
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import JobStatus, split_text

FAST = {"poll_interval": 0.05, "max_poll_interval": 0.2}


async def test_batch_convert_two_voices(
    voiceapi_emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("batch_convert")
    make_tree(tmp_path / "in", 4, 2, subdirs=2)
    voices = [v.name for v in voiceapi_emulator.store.catalogue.voices[:2]]
    summary = await example.convert(
        tmp_path / "in",
        tmp_path / "out",
        voices,
        api_key=voiceapi_emulator.api_key,
        base_url=voiceapi_emulator.base_url,
        **FAST,
    )
    assert summary.status is JobStatus.COMPLETED and summary.done == 6
    files = sorted((tmp_path / "out").rglob("*.wav"))
    assert len(files) == 12 and all(f.stat().st_size > 44 for f in files)
    assert {f.name.split(".")[-2] for f in files} == {v.replace(" ", "-") for v in voices}
    counters = voiceapi_emulator.counters.snapshot()
    assert counters["uploads_total"] == 6 and counters["orders_total"] == 6 and counters["conversions_created"] == 12
    out = capsys.readouterr().out
    assert "6 files (0 invalid)" in out and "6/6 done" in out and "completed: 6 done, 0 failed" in out


def test_batch_convert_main_with_its_own_emulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("batch_convert")
    assert example.main(["--emulator", str(tmp_path / "out")]) == 0
    assert len(list((tmp_path / "out").glob("*.wav"))) == 10  # the five bundled samples, two voices
    assert "completed: 5 done" in capsys.readouterr().out


async def test_tts_pipeline_prints_events_and_splits_the_long_text(
    voiceapi_emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("tts_pipeline")
    assert len(example.LONG) > 1000
    parts = len(split_text(example.LONG))
    summary = await example.speak(
        example.TEXTS,
        tmp_path / "out",
        voiceapi_emulator.store.catalogue.voices[0].name,
        api_key=voiceapi_emulator.api_key,
        base_url=voiceapi_emulator.base_url,
        **FAST,
    )
    items = 2 + parts
    assert parts >= 2 and summary.status is JobStatus.COMPLETED and summary.done == items
    # the long text's parts are joined into one WAV per target (keep_parts is off)
    names = sorted(f.name for f in (tmp_path / "out").glob("*.wav"))
    assert len(names) == 3 and any("labelled" in name for name in names)
    assert "3.Aurora.wav" in names and not any(name.startswith("3.1") for name in names)
    counters = voiceapi_emulator.counters.snapshot()
    assert counters["tts_created"] == items and counters["conversions_created"] == items
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("spoken") for line in lines) == items
    assert sum(line.startswith("downloaded") for line in lines) == items
    assert any(line.startswith("done        3.2") for line in lines)
    assert any(line.startswith(f"joined      3     {parts} parts") for line in lines)


def test_tts_pipeline_main_with_its_own_emulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example("tts_pipeline")
    assert example.main(["--emulator", str(tmp_path / "out")]) == 0
    assert "completed:" in capsys.readouterr().out

"""TTS jobs: inputs in every format, long texts split, per-item voices, originals downloaded."""

from __future__ import annotations

import json
import wave
from pathlib import Path
from typing import Any

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import (
    ItemDone,
    ItemSynthesized,
    JobStatus,
    PartsJoined,
    TextItem,
    TTSJob,
    UnknownVoiceError,
    split_text,
)
from voiceapi_async.jobs._journal import Journal

from .conftest import JOB_FAST

FAST = {**JOB_FAST, "retry_delay": 0.01}

LONG = " ".join(f"Sentence number {i} says something rather ordinary about the weather today." for i in range(40))


def test_split_text_at_sentences() -> None:
    parts = split_text(LONG)
    assert len(LONG) > 2000 and len(parts) == 4
    assert all(len(p) <= 1000 for p in parts)
    assert all(p.endswith(".") for p in parts)
    assert " ".join(parts) == LONG
    # No sentence boundary: words; no space at all: hard cuts.
    assert [len(p) for p in split_text("x" * 2500)] == [1000, 1000, 500]
    words = split_text("word " * 400)
    assert all(len(p) <= 1000 and not p.startswith(" ") for p in words) and len(words) == 2


async def test_tts_list_with_conversion_and_long_text(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    texts = ["Hello there.", TextItem("Second line, labelled.", label="intro"), LONG]
    job = TTSJob(client, texts, tmp_path / "out", targets=[voice_names[0]], **FAST)
    plan = await job.plan()
    assert plan.items == 6  # 2 + the long text in 4 parts
    assert plan.characters == len("Hello there.") + len("Second line, labelled.") + sum(
        len(p) for p in split_text(LONG)
    )
    events = [e async for e in job.run()]
    summary = job.summary
    assert summary is not None and summary.status is JobStatus.COMPLETED and summary.done == 6
    assert sum(isinstance(e, ItemSynthesized) for e in events) == 6
    snap = emu.counters.snapshot()
    assert snap["tts_created"] == 6 and snap["orders_total"] == 6 and snap["conversions_created"] == 6
    names = sorted(Path(p).name for p in summary.output_files)
    slug = voice_names[0].replace(" ", "-")
    # The long text's four parts are joined into one file: one output per text and target.
    assert names == [f"1.{slug}.wav", f"2-intro.{slug}.wav", f"3.{slug}.wav"]
    assert summary.output_count == 3
    joined = [e for e in events if isinstance(e, PartsJoined)]
    assert [(e.key, e.parts, Path(e.path).name) for e in joined] == [("3", 4, f"3.{slug}.wav")]
    # Each part is its own item, recorded in the journal.
    journal = await Journal(job.journal_path).open()
    try:
        rows = await journal.items_in_stages(("done",), 0, 100)
    finally:
        await journal.close()
    parts = [r.extra for r in rows if r.key.startswith("3.")]
    assert [(p["part"], p["parts"]) for p in parts] == [(1, 4), (2, 4), (3, 4), (4, 4)]


async def test_tts_without_conversion_downloads_the_original(
    tmp_path: Path, emu: Emulator, client: VoiceClient
) -> None:
    src = tmp_path / "lines.txt"
    src.write_text("First line.\n\nSecond line.\nThird line.\n")
    summary = await TTSJob(client, src, tmp_path / "out", **FAST).run_to_completion()
    assert summary.done == 3
    assert sorted(Path(p).name for p in summary.output_files) == ["1.wav", "3.wav", "4.wav"]
    snap = emu.counters.snapshot()
    assert snap["tts_created"] == 3 and snap["orders_total"] == 0


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_tts_csv_and_jsonl_with_per_item_voice(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], fmt: str
) -> None:
    rows: list[dict[str, Any]] = [
        {"text": "Default voice here.", "label": "one"},
        {"text": "Another voice here.", "voice": voice_names[3], "label": "two"},
        {"text": "Default again."},
    ]
    src = tmp_path / f"items.{fmt}"
    if fmt == "csv":
        lines = ["text,voice,label"] + [f"{r['text']},{r.get('voice', '')},{r.get('label', '')}" for r in rows]
        src.write_text("\n".join(lines) + "\n")
    else:
        src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    job = TTSJob(client, src, tmp_path / "out", targets=[voice_names[0]], **FAST)
    summary = await job.run_to_completion()
    assert summary.done == 3, summary.failures
    recs = [r.model for r in emu.store.recordings.values() if r.model.type.value == "converted"]
    by_voice = sorted(r.model_name or "" for r in recs)
    assert by_voice == sorted([voice_names[0], voice_names[3], voice_names[0]])
    assert all(r.params["narration_style_id"] for r in recs)


async def test_tts_unknown_per_item_voice_stops_before_anything_is_sent(
    tmp_path: Path, emu: Emulator, client: VoiceClient
) -> None:
    src = tmp_path / "items.jsonl"
    src.write_text(json.dumps({"text": "hi", "voice": "Nobody At All"}) + "\n")
    with pytest.raises(UnknownVoiceError):
        await TTSJob(client, src, tmp_path / "out", **FAST).run_to_completion()
    assert emu.counters.snapshot()["tts_created"] == 0


async def test_tts_events_and_item_done(tmp_path: Path, client: VoiceClient) -> None:
    job = TTSJob(client, ["One.", "Two."], tmp_path / "out", **FAST)
    done = [e async for e in job.run() if isinstance(e, ItemDone)]
    assert sorted(e.key for e in done) == ["1", "2"]
    assert all(len(e.outputs) == 1 and Path(e.outputs[0]).exists() for e in done)


async def test_long_text_parts_joined_frame_for_frame_kept_on_request_and_not_redone(
    tmp_path: Path, emu: Emulator, client: VoiceClient
) -> None:
    out = tmp_path / "out"
    job = TTSJob(client, ["Short.", LONG], out, keep_parts=True, **FAST)
    done = {e.key: e.outputs for e in [e async for e in job.run()] if isinstance(e, ItemDone)}
    summary = job.summary
    assert summary is not None and summary.status is JobStatus.COMPLETED and summary.done == 5
    parts = sorted(out.glob("2.*.wav"))
    assert [p.name for p in parts] == ["2.1.wav", "2.2.wav", "2.3.wav", "2.4.wav"]
    # What the user gets: the joined file is listed (the kept parts are named by their ItemDone).
    assert sorted(Path(p).name for p in summary.output_files) == ["1.wav", "2.wav"]
    assert sorted(Path(p).name for key in ("2.1", "2.2", "2.3", "2.4") for p in done[key]) == [p.name for p in parts]
    frames = b""
    for part in parts:
        with wave.open(str(part), "rb") as reader:
            frames += reader.readframes(reader.getnframes())
    with wave.open(str(out / "2.wav"), "rb") as joined:
        assert joined.readframes(joined.getnframes()) == frames
    # Without keep_parts a fresh job keeps only the joined file; a re-run downloads and joins nothing.
    plain = tmp_path / "plain"
    plain_summary = await TTSJob(client, ["Short.", LONG], plain, **FAST).run_to_completion()
    assert sorted(p.name for p in plain.glob("*.wav")) == ["1.wav", "2.wav"]
    assert sorted(Path(p).name for p in plain_summary.output_files) == ["1.wav", "2.wav"]
    with wave.open(str(plain / "2.wav"), "rb") as joined:
        assert joined.getnframes() * joined.getsampwidth() == len(frames)
    before = emu.counters.snapshot()["requests_by_route"].get("files.get", 0)
    events = [e async for e in TTSJob(client, ["Short.", LONG], plain, **FAST).run()]
    assert not any(isinstance(e, PartsJoined) for e in events)
    assert emu.counters.snapshot()["requests_by_route"].get("files.get", 0) == before

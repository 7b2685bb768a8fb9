"""End-to-end speech-to-speech batches against the emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import (
    BatchConvertJob,
    ItemConverted,
    ItemDone,
    ItemDownloaded,
    ItemOrdered,
    ItemUploaded,
    JobStatus,
    Target,
)
from voiceapi_async.jobs._journal import Journal

from .conftest import JOB_FAST
from .helpers import make_tree


async def test_two_voices_end_to_end(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 20, 6, subdirs=3)
    out = tmp_path / "out"
    job = BatchConvertJob(
        client, tmp_path / "in", [voice_names[0], Target(voice_names[1], semitones_correction=2)], out, **JOB_FAST
    )
    plan = await job.plan()
    assert plan.items == 26 and plan.invalid == 0 and plan.conversions_per_item == 2
    events = [e async for e in job.run()]
    summary = job.summary
    assert summary is not None
    assert summary.status is JobStatus.COMPLETED, summary
    assert summary.done == 26 and summary.failed == 0
    assert sum(isinstance(e, ItemUploaded) for e in events) == 26
    assert sum(isinstance(e, ItemOrdered) for e in events) == 26
    assert sum(isinstance(e, ItemDownloaded) for e in events) == 52
    assert sum(isinstance(e, ItemDone) for e in events) == 26
    assert len(summary.output_files) == 52 and summary.output_count == 52
    for f in summary.output_files:
        assert Path(f).stat().st_size > 44
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == 26
    assert snap["orders_total"] == 26
    assert snap["conversions_created"] == 52
    print(summary.requests, summary.requests_by_endpoint)
    # A summary stays small for any batch: paths beyond max_failures are counted, not listed.
    capped = BatchConvertJob(
        client,
        tmp_path / "in",
        [voice_names[0], Target(voice_names[1], semitones_correction=2)],
        out,
        **{**JOB_FAST, "max_failures": 5},
    )
    resumed = await capped.run_to_completion()
    assert resumed.output_count == 52 and resumed.output_files == summary.output_files[:5]


async def test_items_ordered_in_a_run_are_not_read_back_from_the_journal(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloads and events take the row the run submitted (``EngineContext.rows``), not a re-read per output."""
    reads: list[int] = []
    item = Journal.item

    async def counted(self: Journal, seq: int) -> Any:
        reads.append(seq)
        return await item(self, seq)

    monkeypatch.setattr(Journal, "item", counted)
    make_tree(tmp_path / "in", 6, subdirs=2)
    out = tmp_path / "out"
    job = BatchConvertJob(
        client, tmp_path / "in", [voice_names[0], Target(voice_names[1], semitones_correction=2)], out, **JOB_FAST
    )
    events = [e async for e in job.run()]
    assert job.summary is not None and job.summary.done == 6
    assert reads == []
    uploaded = {e.key: e.name for e in events if isinstance(e, ItemUploaded)}
    downloaded = [e for e in events if isinstance(e, ItemDownloaded)]
    converted = [e for e in events if isinstance(e, ItemConverted)]
    assert len(uploaded) == 6 and len(downloaded) == len(converted) == 12
    for event in [*downloaded, *converted]:  # each names its item and target as the journal does
        assert uploaded[event.key] == event.name
    assert {e.target for e in downloaded} == {e.target for e in converted} and len({e.target for e in downloaded}) == 2
    for event in downloaded:
        stem = event.name.rsplit(".", 1)[0]
        assert event.path.startswith(str(out / stem)) and Path(event.path).stat().st_size == event.size
    done = [e for e in events if isinstance(e, ItemDone)]
    assert sorted(p for e in done for p in e.outputs) == sorted(e.path for e in downloaded)

"""End-to-end speech-to-speech batches against the emulator."""

from __future__ import annotations

from pathlib import Path

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import (
    BatchConvertJob,
    ItemDone,
    ItemDownloaded,
    ItemOrdered,
    ItemUploaded,
    JobStatus,
    Target,
)

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

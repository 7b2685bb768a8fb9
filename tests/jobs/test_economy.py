"""Request economy, from the emulator's own counters: ~3 requests per file for one voice.

Reproduce the 1,000-file numbers with ``VOICEAPI_ECONOMY_FILES=1000 pytest tests/jobs/test_economy.py -s``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from voiceapi_async.emulator import Emulator, EmulatorConfig, RateLimitConfig
from voiceapi_async.jobs import BatchConvertJob, JobStatus

from .conftest import make_client
from .helpers import make_tree

N = int(os.environ.get("VOICEAPI_ECONOMY_FILES", "150"))


@pytest.mark.slow
@pytest.mark.parametrize("voices", [1, 3])
async def test_requests_per_file(tmp_path: Path, voices: int) -> None:
    config = EmulatorConfig(original_delay=0.1, conversion_delay=(0.2, 0.8), rate_limits=RateLimitConfig.off())
    make_tree(tmp_path / "in", N)
    async with Emulator(config) as emu, make_client(emu) as client:
        names = [v.name for v in emu.store.catalogue.voices[:voices]]
        job = BatchConvertJob(
            client, tmp_path / "in", names, tmp_path / "out", upload_concurrency=8, download_concurrency=8
        )
        summary = await job.run_to_completion()
        snap = emu.counters.snapshot()
    assert summary.status is JobStatus.COMPLETED and summary.done == N
    routes = snap["requests_by_route"]
    assert routes["recordings.create"] == N
    assert routes["orders.create"] == N
    assert routes["files.get"] == N * voices
    polls = routes["recordings.list"]
    assert "recordings.get" not in routes  # never one GET per recording
    assert polls <= max(10, N // 10)
    per_file = snap["requests_total"] / N
    print(f"\n{N} files x {voices} voice(s): {snap['requests_total']} requests, {per_file:.3f}/file, {polls} polls")
    assert per_file <= 2 + voices + 0.15
    if N >= 1000 and voices == 1:
        assert per_file <= 3.1
    # What the client counted is what the server saw.
    assert summary.requests == snap["requests_total"]

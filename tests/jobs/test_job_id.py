"""Resume without the journal: a named job (``job_id=``) rebuilds its state from the server.

The journal is deleted mid-job (and the inputs and outputs move, as on another machine);
the same job name resumes with 0 duplicate uploads or orders, by the emulator's counters.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from voiceapi_async.emulator import Emulator, FaultConfig
from voiceapi_async.jobs import JOURNAL_NAME, BatchConvertJob, ItemOrdered, JournalMismatchError

from .conftest import JOB_FAST, make_client
from .helpers import make_tree

N_FILES = 20


def _lose_journal(out: Path) -> None:
    for path in out.glob(JOURNAL_NAME + "*"):  # the database and its -wal / -shm companions
        path.unlink()
    assert not list(out.glob(JOURNAL_NAME + "*"))


async def test_journal_lost_mid_job_then_the_same_job_id_resumes_without_paying_twice(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", N_FILES, subdirs=2)
    voices = voice_names[:2]
    emu.set_faults(FaultConfig(latency=0.02, seed=5))  # requests take a while: the stop lands mid-job
    async with make_client(emu) as client:
        job = BatchConvertJob(
            client,
            tmp_path / "in",
            voices,
            tmp_path / "out",
            job_id="nightly-42",
            mirror_tree=True,
            upload_concurrency=2,
            **JOB_FAST,
        )
        ordered = 0
        async with contextlib.aclosing(job.run()) as events:
            async for event in events:
                if isinstance(event, ItemOrdered):
                    ordered += 1
                    if ordered == 8:
                        break  # stop mid-job: in-flight uploads and orders finish and are journaled
        uploaded_before = emu.counters.uploads_total
        ordered_before = emu.counters.orders_total
        assert 8 <= ordered_before <= uploaded_before and ordered_before < N_FILES
        _lose_journal(tmp_path / "out")
        # Another machine: the inputs elsewhere, another output directory, no journal.
        shutil.copytree(tmp_path / "in", tmp_path / "moved")
        resumed = BatchConvertJob(
            client, tmp_path / "moved", voices, tmp_path / "out2", job_id="nightly-42", mirror_tree=True, **JOB_FAST
        )
        summary = await resumed.run_to_completion()
    snap = emu.counters.snapshot()
    assert summary.done == N_FILES and summary.failed == 0
    assert resumed.rebuilt is not None
    assert resumed.rebuilt.originals == uploaded_before
    assert resumed.rebuilt.ordered == ordered_before
    assert snap["uploads_total"] == N_FILES and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == N_FILES and max(snap["orders_by_original"].values()) == 1
    assert snap["conversions_created"] == N_FILES * len(voices)
    assert len(list((tmp_path / "out2").rglob("*.wav"))) == N_FILES * len(voices)


async def test_without_a_job_id_a_lost_journal_means_a_new_job(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    """Why name a job: an anonymous one's markers die with its journal (what the rebuild saves)."""
    make_tree(tmp_path / "in", 3)
    async with make_client(emu) as client:
        await BatchConvertJob(
            client, tmp_path / "in", voice_names[:1], tmp_path / "out", **JOB_FAST
        ).run_to_completion()
        _lose_journal(tmp_path / "out")
        job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **JOB_FAST)
        await job.run_to_completion()
    assert job.rebuilt is None
    assert emu.counters.uploads_total == 6


async def test_a_journal_of_another_job_id_is_refused(tmp_path: Path, emu: Emulator, voice_names: list[str]) -> None:
    make_tree(tmp_path / "in", 2)
    async with make_client(emu) as client:
        await BatchConvertJob(
            client, tmp_path / "in", voice_names[:1], tmp_path / "out", job_id="a", folder="f", **JOB_FAST
        ).run_to_completion()
        uploads = emu.counters.uploads_total
        other = BatchConvertJob(
            client, tmp_path / "in", voice_names[:1], tmp_path / "out", job_id="b", folder="f", **JOB_FAST
        )
        with pytest.raises(JournalMismatchError, match="belongs to job 'a', not 'b'"):
            await other.run_to_completion()
        # Resuming without naming it keeps the journal's name (and rebuilds nothing: the journal is there).
        again = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", folder="f", **JOB_FAST)
        await again.run_to_completion()
    assert again.job_id == "a" and again.named and again.rebuilt is None
    assert emu.counters.uploads_total == uploads


def test_a_bad_job_id_is_refused_before_anything(tmp_path: Path) -> None:
    from voiceapi_async import VoiceClient
    from voiceapi_async.jobs import JobConfigError

    client = VoiceClient(api_key="k" * 16, base_url="http://127.0.0.1:9")
    with pytest.raises(JobConfigError, match="job_id"):
        BatchConvertJob(client, tmp_path, ["v"], tmp_path / "out", job_id="  ")

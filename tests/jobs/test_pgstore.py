"""A job shared on PostgreSQL (a throwaway cluster the session starts): one worker, leases, three workers.

The three-worker test runs each worker in a subprocess and SIGKILLs one mid-run: the
others take its items over when its leases run out, and every item is done once, by the
emulator's counters.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest

from voiceapi_async.emulator import Emulator, FaultConfig
from voiceapi_async.jobs import BatchConvertJob, JobConfigError

from .conftest import JOB_FAST, make_client
from .helpers import make_tree

ROOT = Path(__file__).resolve().parents[2]


def _job_name() -> str:
    return f"job-{uuid.uuid4().hex[:12]}"


async def test_one_worker_runs_a_job_on_postgres_and_resumes_it(
    tmp_path: Path, emu: Emulator, voice_names: list[str], postgres_url: str
) -> None:
    make_tree(tmp_path / "in", 6, subdirs=2)
    name = _job_name()
    options = {"journal": postgres_url, "job_id": name, "mirror_tree": True, **JOB_FAST}
    async with make_client(emu) as client:
        job = BatchConvertJob(client, tmp_path / "in", voice_names[:2], tmp_path / "out", **options)
        summary = await job.run_to_completion()
        again = await BatchConvertJob(
            client, tmp_path / "in", voice_names[:2], tmp_path / "out", **options
        ).run_to_completion()
    snap = emu.counters.snapshot()
    assert summary.done == 6 and summary.failed == 0 and summary.output_count == 12
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in summary.output_files)  # where each output is
    assert name in summary.journal_path and "postgresql://" in summary.journal_path
    assert again.done == 6 and again.requests < 10  # nothing left: a few set-up calls
    assert snap["uploads_total"] == 6 and snap["orders_total"] == 6


def test_a_shared_store_needs_a_job_name(tmp_path: Path) -> None:
    from voiceapi_async import VoiceClient

    client = VoiceClient(api_key="k" * 16, base_url="http://127.0.0.1:9")
    with pytest.raises(JobConfigError, match="needs job_id="):
        BatchConvertJob(client, tmp_path, ["v"], tmp_path / "out", journal="postgresql://db.internal/jobs")


async def test_without_the_extra_the_error_says_what_to_install(
    tmp_path: Path, emu: Emulator, voice_names: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if the package were not installed
    make_tree(tmp_path / "in", 1)
    async with make_client(emu) as client:
        job = BatchConvertJob(
            client,
            tmp_path / "in",
            voice_names[:1],
            tmp_path / "out",
            journal="postgresql://x@127.0.0.1:1/db",
            job_id="j",
        )
        with pytest.raises(JobConfigError, match=r"pip install 'voiceapi-async\[postgres\]'"):
            await job.run_to_completion()
    assert emu.counters.uploads_total == 0


async def test_writes_are_fenced_by_the_lease(tmp_path: Path, postgres_url: str) -> None:
    """A worker whose item was taken over cannot write its intent (so it cannot send the request)."""
    import asyncpg

    from voiceapi_async.jobs._pgstore import LeaseLostError, PostgresJobStore
    from voiceapi_async.jobs._stages import ItemStage
    from voiceapi_async.jobs._store import NewItem

    name = _job_name()
    a = await PostgresJobStore(postgres_url, name, tmp_path / "a", worker="a", lease_seconds=30).open()
    b = await PostgresJobStore(postgres_url, name, tmp_path / "b", worker="b", lease_seconds=30).open()
    try:
        await a.add_items([NewItem(key=f"k{i}", name=f"n{i}", source="s", rel=f"r{i}") for i in range(3)])
        assert await a.claim(10) == 3
        assert await b.claim(10) == 0  # nothing is taken twice
        assert await b.unfinished_elsewhere() == 3
        seq, other, _ = (row.seq for row in await a.items_in_stages([ItemStage.PENDING], 0, 10))
        await a.set_stage(seq, ItemStage.CREATING, intent=True)
        await a.set_ordering(other, "orig-1")  # the original's id and the order's intent, one write
        ordering = await a.item(other)
        assert ordering.stage is ItemStage.ORDERING and ordering.original_id == "orig-1" and ordering.intent_at
        assert await b.items_in_stages([ItemStage.PENDING, ItemStage.CREATING], 0, 10) == []  # b sees only its own
        conn = await asyncpg.connect(postgres_url)
        try:  # a stops renewing (it hangs, or died): its leases run out
            await conn.execute(
                "UPDATE voiceapi_job_items SET lease_until = now() - interval '1 second' WHERE job = $1", name
            )
        finally:
            await conn.close()
        assert await b.claim(10) == 3
        with pytest.raises(LeaseLostError):
            await a.set_stage(seq, ItemStage.PENDING)
        with pytest.raises(LeaseLostError):
            await a.set_ordering(seq, "orig-a")
        taken = await b.item(seq)
        assert taken.stage is ItemStage.CREATING and taken.intent_at is not None  # b reconciles before sending
        assert await a.renew() == 0
    finally:
        await a.close()
        await b.close()


async def _spawn(
    emu: Emulator, inputs: Path, out: Path, pg: str, name: str, voices: list[str]
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.jobs.pg_worker",
        emu.base_url,
        emu.api_key,
        str(inputs),
        str(out),
        pg,
        name,
        "1.5",  # lease seconds: a dead worker's items are taken over quickly
        *voices,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
async def test_three_workers_share_a_job_and_take_over_a_killed_ones_items(
    tmp_path: Path, emu: Emulator, voice_names: list[str], postgres_url: str
) -> None:
    n_files = 30
    make_tree(tmp_path / "in", n_files)
    voices = voice_names[:2]
    name = _job_name()
    # Some latency so that the kill lands while the victim holds items in every stage.
    emu.set_faults(FaultConfig(latency=0.01, latency_jitter=0.01, seed=3))
    outs = [tmp_path / f"out{i}" for i in range(3)]
    workers = [await _spawn(emu, tmp_path / "in", out, postgres_url, name, voices) for out in outs]
    victim = workers[1]
    assert victim.stdout is not None
    for _ in range(6):  # a few events in: it has uploaded and ordered some items, others are in flight
        line = await asyncio.wait_for(victim.stdout.readline(), 60)
        assert line and not line.startswith(b"SUMMARY")
    victim.send_signal(signal.SIGKILL)
    await victim.wait()
    import asyncpg

    conn = await asyncpg.connect(postgres_url)
    try:  # the victim died holding unfinished items (worker names carry the pid): the others must take them over
        held = await conn.fetchval(
            "SELECT count(*) FROM voiceapi_job_items WHERE job = $1 AND lease_owner LIKE $2"
            " AND stage NOT IN ('done', 'failed')",
            name,
            f"%-{victim.pid}-%",
        )
    finally:
        await conn.close()
    assert held > 0
    results = [await asyncio.wait_for(w.communicate(), 180) for w in (workers[0], workers[2])]
    for (out, err), w in zip(results, (workers[0], workers[2]), strict=True):
        assert w.returncode == 0, err.decode()[-3000:]
        last = out.decode().strip().splitlines()[-1]
        assert last == f"SUMMARY completed {n_files} 0 {n_files * len(voices)}", last
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == n_files and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == n_files and max(snap["orders_by_original"].values()) == 1
    assert snap["conversions_created"] == n_files * len(voices)
    # Each worker downloaded into its own directory; together they hold every output once.
    files = [p for out in outs for p in out.rglob("*.wav")]
    assert len({p.name for p in files}) == n_files * len(voices)
    assert sum(1 for p in outs[0].rglob("*.wav")) > 0 and sum(1 for p in outs[2].rglob("*.wav")) > 0

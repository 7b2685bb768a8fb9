"""The journal alone: ``python -m benchmarks._journal_ops [N1 N2] [--callgrind] [--journal-only] | --job N``.

Replays the journal calls a convert job makes for N tiny files with one target, in the
order and grouping of the job (``jobs/_convert`` discovery, ``_submit``, ``_watch``,
``_fetch``): batches of 256 inputs (``known_keys``, ``add_items``), chunks of 64 to
submit (``items_in_stages``), then per file, on one of 16 concurrent workers (B6's
concurrency, so writes of several files share a commit as in the job):

    set_stage(creating, intent)  set_ordering (the original's id with the order's intent)
    set_converting               set_output(converted, url)   set_downloaded

(the downloader takes the item's row from the engine's ``rows``, not from the journal),

with a poll round every 20 files: ``watched``, then ``lookup`` of the newest 68 recordings
(B6's job on 1,000 files, measured at ac97939: 49 rounds, 52 lookups of 3,346 ids).

The same replay runs against a store that does nothing (``_NullStore``): what is left
after subtracting it is the journal's own cost.  Prints per file: instructions (with
``--callgrind``: ``(I(N2) - I(N1)) / (N2 - N1)`` under ``valgrind --tool=callgrind``, so
start-up cancels out and the machine's load does not matter), Python function calls,
SQL statements, commits and writes, and the CPU time of the run (noisy: a median).
The journal lives in the benchmarks' scratch root (``VOICEAPI_BENCH_DIR``, never ``/tmp``;
see ``benchmarks/README.md``).

The replay groups writes as no real job does (nothing waits on the network, so nearly
every write shares a commit).  ``--job N`` counts instead what the journal of one real
B6 job of ``N`` tiny files does (an emulator process, B6's options, the job in a process
of its own with its SQL traced): SQL statements per file by kind, writes, commits, and
the commits that no intent waited for.  Commits follow the machine's load (how many
writes a loop turn gathers): compare runs made under the same load.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from voiceapi_async.jobs._journal import Journal
from voiceapi_async.jobs._stages import SUBMIT_STAGES, ItemStage, OutputStage
from voiceapi_async.jobs._store import ItemRow, NewItem, OutputRow

from ._common import ROOT, scratch_dir

WORKERS = 16
DISCOVERY_BATCH = 256
CHUNK = 64
#: A poll round lists what the project gained since the last one (pages of up to 200): in
#: B6 the job polls once per ~20 files and looks up ~3.4 recording ids per file (measured).
PAGE = 200
ROUND_EVERY = 20
LISTED_PER_ROUND = 68


def _new_item(i: int) -> NewItem:
    rel = f"d{i // 1000:04d}/f{i:07d}.wav"
    return NewItem(
        key=f"key-{i:07d}",
        name=rel,
        source=f"/inputs/{rel}",
        rel=rel,
        rel_dir="",
        label=f"f{i:07d} [vj:job:{i}]",
        size=76,
        duration=0.002,
        n_targets=1,
    )


async def replay(store: Any, n: int) -> None:
    """The job's journal calls for ``n`` files (see the module docstring)."""
    for start in range(0, n, DISCOVERY_BATCH):
        batch = [_new_item(i) for i in range(start, min(n, start + DISCOVERY_BATCH))]
        known = await store.known_keys([it.key for it in batch])
        await store.add_items([it for it in batch if it.key not in known])
    queue: asyncio.Queue[ItemRow | None] = asyncio.Queue(WORKERS)
    recent: collections.deque[str] = collections.deque(maxlen=LISTED_PER_ROUND)

    async def worker() -> None:
        while (row := await queue.get()) is not None:
            seq = row.seq
            await store.set_stage(seq, ItemStage.CREATING, intent=True)
            await store.set_ordering(seq, f"orig-{seq}")
            conversion = f"conv-{seq}"
            await store.set_converting(seq, [(0, conversion)], seq // ROUND_EVERY)
            recent.append(conversion)
            if seq % ROUND_EVERY == 0:  # a poll round: what is watched, then the listed pages looked up
                await store.watched(seq // ROUND_EVERY)
                listed = list(recent)
                for page in range(0, len(listed), PAGE):
                    await store.lookup(listed[page : page + PAGE])
            url = f"http://emulator/files/{conversion}.wav"
            await store.set_output(seq, 0, OutputStage.CONVERTED, url=url)
            outcome = await store.set_downloaded(seq, 0, path=f"/out/{row.rel}", size=76, url=url)
            assert outcome is ItemStage.DONE, outcome

    workers = [asyncio.ensure_future(worker()) for _ in range(WORKERS)]
    after = 0
    while rows := await store.items_in_stages(SUBMIT_STAGES, after, CHUNK):
        for row in rows:
            after = row.seq
            await queue.put(row)
    for _ in workers:
        await queue.put(None)
    await asyncio.gather(*workers)


class _NullStore:
    """The replay's calls answered at once: the cost of the replay itself, without a journal."""

    def __init__(self) -> None:
        self.items: list[ItemRow] = []

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        return set()

    async def add_items(self, items: Sequence[NewItem]) -> int:
        for it in items:
            seq = len(self.items) + 1
            fields = (it.key, it.name, it.source, it.rel, it.rel_dir, it.label, it.size, it.duration, {})
            self.items.append(ItemRow(seq, *fields, ItemStage.PENDING, None, None, None, None, 0, None, None))
        return len(items)

    async def items_in_stages(self, stages: Sequence[ItemStage], after: int, limit: int) -> list[ItemRow]:
        return self.items[after : after + limit]

    async def set_stage(self, seq: int, stage: ItemStage, *, intent: bool = False) -> None:
        if intent:
            await asyncio.sleep(0)  # the journal answers an intent after the next turn's commit

    async def set_ordering(self, seq: int, original_id: str) -> None:
        await asyncio.sleep(0)  # an intent

    async def set_converting(self, seq: int, outputs: Iterable[tuple[int, str]], round_no: int) -> None:
        return None

    async def watched(self, before_round: int) -> list[str]:
        return []

    async def lookup(self, ids: Sequence[str]) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
        return {rid: OutputRow(0, 0, rid, OutputStage.PROCESSING, 0, None, None, None, None) for rid in ids}, {}

    async def set_output(self, seq: int, target: int, stage: OutputStage, *, url: str | None = None) -> None:
        return None

    async def set_downloaded(self, seq: int, target: int, *, path: str, size: int, url: str | None) -> ItemStage:
        return ItemStage.DONE


async def _run(kind: str, n: int, directory: Path) -> dict[str, Any]:
    if kind == "null":
        t0 = time.process_time()
        await replay(_NullStore(), n)
        return {"cpu": time.process_time() - t0}
    journal = await Journal(directory / "journal.sqlite").open()
    try:
        t0 = time.process_time()
        await replay(journal, n)
        cpu = time.process_time() - t0
    finally:
        await journal.close()
    return {"cpu": cpu, "commits": journal.commits, "writes": journal.writes}


def _one(kind: str, n: int) -> dict[str, Any]:
    """One replay in this process, in a directory of its own (the scratch session is removed at exit)."""
    return asyncio.run(_run(kind, n, scratch_dir(f"journal-ops-{kind}-{n}")))


def _counted(kind: str, n: int) -> dict[str, int]:
    """Python function calls and SQL statements of one replay (counted on a run of its own: counting slows it)."""
    calls = 0
    statements = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event == "call" or event == "c_call":
            calls += 1

    def trace(sql: str) -> None:
        nonlocal statements
        statements += 1

    original = Journal.open

    async def open_traced(self: Journal) -> Journal:
        opened = await original(self)
        self.db.set_trace_callback(trace)
        return opened

    Journal.open = open_traced  # type: ignore[method-assign]
    sys.setprofile(profile)
    try:
        _one(kind, n)
    finally:
        sys.setprofile(None)
        Journal.open = original  # type: ignore[method-assign]
    return {"calls": calls, "statements": statements}


def _callgrind(kind: str, n: int, directory: Path) -> int:
    out = directory / f"callgrind-{kind}-{n}.out"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", __spec__.name]
    proc = subprocess.run([*command, "--one", kind, str(n)], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} at {n} files failed: {proc.stderr[-2000:]}")
    for line in out.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {out}")


def _traced_job(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one job of ``benchmarks._batch`` in this process with its journal traced: totals."""
    from . import _batch

    counts: collections.Counter[str] = collections.Counter()
    journals: list[Journal] = []
    original_open, original_commit = Journal.open, Journal._commit

    def trace(sql: str) -> None:
        verb = sql.split(None, 1)[0]
        if verb in ("UPDATE", "INSERT"):  # and the table
            verb += " " + sql.split(" INTO " if verb == "INSERT" else None, 2)[1].split(None, 1)[0]
        counts[verb] += 1

    async def open_traced(self: Journal) -> Journal:
        opened = await original_open(self)
        self.db.set_trace_callback(trace)
        journals.append(self)
        return opened

    def commit_counted(self: Journal) -> None:
        if self._open is not None and not self._waiting:
            counts["commits without an intent"] += 1
        original_commit(self)

    Journal.open = open_traced  # type: ignore[method-assign]
    Journal._commit = commit_counted  # type: ignore[method-assign]
    try:
        result = asyncio.run(_batch._run(spec))
    finally:
        Journal.open, Journal._commit = original_open, original_commit  # type: ignore[method-assign]
    if result["done"] != result["total"]:
        raise RuntimeError(f"the job did not complete: {result['status']}")
    counts["statements"] = sum(n for kind, n in counts.items() if kind != "commits without an intent")
    counts["commits"] = sum(j.commits for j in journals)
    counts["writes"] = sum(j.writes for j in journals)
    return dict(counts)


def _job(n: int) -> None:
    """``--job N``: what the journal of one B6 job does per file (see the module docstring)."""
    from ._batch import job_spec, write_tiny_wavs
    from ._emuproc import EmulatorProcess
    from .b6_pipeline import JOB, _emulator_config

    inputs = scratch_dir(f"journal-job-in-{n}")
    write_tiny_wavs(inputs, n)
    with EmulatorProcess(_emulator_config()) as emu:
        spec = job_spec(emu, inputs, scratch_dir(f"journal-job-out-{n}"), 1, job=JOB)
        command = [sys.executable, "-m", __spec__.name, "--job-child", json.dumps(spec)]
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the job failed: {proc.stderr[-2000:]}")
    totals = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"the journal of one B6 job of {n} files, per file (load {os.getloadavg()[0]:.2f}):")
    for kind in ("statements", "writes", "commits", "commits without an intent"):
        print(f"  {kind:28s} {totals.pop(kind, 0) / n:6.3f}")
    for kind, count in sorted(totals.items()):
        print(f"    {kind:26s} {count / n:6.3f}")


def main(argv: list[str]) -> None:
    if argv[:1] in (["--help"], ["-h"]):
        print(__doc__)
        return
    if argv[:1] == ["--one"]:
        print(json.dumps(_one(argv[1], int(argv[2]))))
        return
    if argv[:1] == ["--job-child"]:
        print(json.dumps(_traced_job(json.loads(argv[1]))))
        return
    if argv[:1] == ["--job"]:
        _job(int(argv[1]) if len(argv) > 1 else 1000)
        return
    use_callgrind = "--callgrind" in argv
    sizes = [int(a) for a in argv if a.isdigit()]
    n1, n2 = sizes if len(sizes) == 2 else (500, 2500) if use_callgrind else (1000, 5000)
    per_file: dict[str, dict[str, float]] = {}
    kinds = ("journal",) if "--journal-only" in argv else ("null", "journal")
    for kind in kinds:
        low, high = _counted(kind, n1), _counted(kind, n2)
        row = {key: (high[key] - low[key]) / (n2 - n1) for key in low}
        runs = [_one(kind, n2) for _ in range(5)]
        row["cpu_us"] = statistics.median(r["cpu"] for r in runs) / n2 * 1e6
        if kind == "journal":
            row["commits"] = statistics.median(r["commits"] for r in runs) / n2
            row["writes"] = statistics.median(r["writes"] for r in runs) / n2
        if use_callgrind:
            directory = scratch_dir("journal-ops-callgrind")
            i1, i2 = _callgrind(kind, n1, directory), _callgrind(kind, n2, directory)
            row["instructions"] = (i2 - i1) / (n2 - n1)
        per_file[kind] = row
    journal = per_file["journal"]
    null = per_file.get("null", dict.fromkeys(journal, 0.0))
    print(f"journal ops per file ({n1} -> {n2} files, {WORKERS} workers; 'own' = journal minus the null store):")
    print(
        f"  writes {journal['writes']:.2f}, commits {journal['commits']:.3f}, SQL statements {journal['statements']:.2f}"
    )
    print(f"  Python calls   {journal['calls']:8.1f}   own {journal['calls'] - null['calls']:8.1f}")
    if use_callgrind:
        own = journal["instructions"] - null["instructions"]
        print(f"  instructions   {journal['instructions']:8.0f}   own {own:8.0f}")
    load = os.getloadavg()[0]
    print(
        f"  CPU us (median of 5, load {load:.2f}) {journal['cpu_us']:6.1f}   own {journal['cpu_us'] - null['cpu_us']:6.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

"""Smoke test of the benchmark suite: B1, B5 and B6 (and the emulator's B6 replay) run end to end in a tiny mode.

Only the shape of the results is checked (keys present, numbers positive) — never a
timing threshold: the figures of a tiny run mean nothing, and machines are noisy.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

pytest.importorskip("httpx")
pytest.importorskip("pydantic")
pytest.importorskip("requests")

from benchmarks import b1_overhead, b5_emulator, b6_pipeline
from benchmarks._common import ROOT, Options, machine, markdown

TINY = Options(tiny=True, runs=1, verbose=False)


def _positive(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_b1_tiny_runs_every_client_endpoint_and_concurrency() -> None:
    result = b1_overhead.run(TINY)
    cells = result.raw["cells"]
    assert set(cells) == set(b1_overhead.CLIENTS)
    for client in b1_overhead.CLIENTS:
        for endpoint in ("voices_page_25", "recordings_page_200", "recording", "voices_page_25_rich"):
            assert all(_positive(d) for d in result.raw["decode_cpu_ms"][client][endpoint])
            for conc in b1_overhead.CELLS[endpoint]:
                (cell,) = cells[client][endpoint][conc]
                assert {"n", "cpu_ms", "rps", "wall"} <= set(cell)
                assert _positive(cell["cpu_ms"]) and _positive(cell["rps"]) and cell["n"] > 0
    assert [g.unit for g in result.goals] == ["x", "x"]
    assert all(_positive(g.value) for g in result.goals)
    assert "B1" in markdown([result], machine(), TINY)


def test_b5_tiny_measures_the_emulator() -> None:
    result = b5_emulator.run(TINY)
    for runs in result.raw["routes"].values():
        (r,) = runs
        assert {"rps", "requests", "errors", "emulator_cpu_ms", "emulator_cpu_util"} <= set(r)
        assert _positive(r["rps"]) and r["requests"] > 0 and r["errors"] == 0
    assert _positive(result.raw["small_get_rps"])


def test_b6_tiny_runs_the_job_and_the_raw_pipeline_on_the_same_files() -> None:
    result = b6_pipeline.run(TINY)
    (run,) = result.raw["runs"]
    assert run["raw"]["done"] == run["files"] == run["job"]["done"] > 0
    assert _positive(run["raw"]["cpu"]) and _positive(run["job"]["cpu"]) and _positive(run["job"]["emulator_cpu"])
    assert [g.unit for g in result.goals] == ["x", "files/s", "files/s"]
    assert all(_positive(g.value) for g in result.goals)
    scratch = result.raw["scratch"]  # the file-creation cost of where both pipelines wrote, shown with the results
    assert _positive(scratch["file_creation_us"])
    assert any(scratch["root"] in str(row) for table in result.tables for row in table.rows)


def test_emu_load_replays_b6_requests_against_an_emulator_process() -> None:
    """A subprocess: the driver pins its process to the client core."""
    command = [sys.executable, "-m", "benchmarks._emu_load", "--files", "48", "--warmup", "16"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]  # it checks every round's conversions were listed done
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["files"] == 48 and result["instructions_per_file"] is None
    assert result["emulator_cpu_ms_per_file"] >= 0  # clock ticks: a few files may cost less than one


def test_journal_ops_job_counts_what_a_real_jobs_journal_does_per_file() -> None:
    """``--job N``: one B6 job traced; a fresh one-target file costs 4 item updates and 5 writes (plus set-up)."""
    command = [sys.executable, "-m", "benchmarks._journal_ops", "--job", "40"]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("the journal of one B6 job of 40 files, per file")
    per_file = {line.rsplit(None, 1)[0].strip(): float(line.rsplit(None, 1)[1]) for line in lines[1:]}
    assert 4 <= per_file["UPDATE items"] < 4.5 and 2 <= per_file["UPDATE outputs"] < 2.5
    assert 5 <= per_file["writes"] < 6 and per_file["statements"] > per_file["writes"]
    assert 0 < per_file["commits"] == per_file["BEGIN"] == per_file["COMMIT"]
    assert 0 <= per_file["commits without an intent"] <= per_file["commits"]

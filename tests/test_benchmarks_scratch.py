"""The benchmarks' scratch directories: fresh per run, nothing deleted before the process ends.

A deletion between two runs would bill the next run for the filesystem's bookkeeping (see
"Where the files go" in ``benchmarks/README.md``), so these tests pin down when things go.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import _common
from benchmarks._common import (
    DEFAULT_SCRATCH,
    SCRATCH_ENV,
    Scratch,
    file_creation_us,
    scratch_root,
    spread_subdirectories,
)
from benchmarks._common import ROOT as REPO


def test_each_run_gets_a_fresh_directory_and_nothing_goes_before_remove(tmp_path: Path) -> None:
    scratch = Scratch(tmp_path / "root")
    first = scratch.dir("b6-raw-1")
    (first / "out.wav").write_bytes(b"x")
    second, third = scratch.dir("b6-raw-1"), scratch.dir("b6-job-1")
    assert len({first, second, third}) == 3
    assert [p.parent for p in (first, second, third)] == [scratch.session] * 3
    assert scratch.session.parent == tmp_path / "root"
    assert list(second.iterdir()) == [] and list(third.iterdir()) == []
    assert (first / "out.wav").read_bytes() == b"x"  # handing out more directories removed nothing

    session = scratch.session
    scratch.remove()
    assert not session.exists() and (tmp_path / "root").is_dir()


def test_a_session_in_a_slow_block_group_is_set_aside_for_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's deletions there: each try costs only a few files, all removed at the end."""
    costs = iter([900.0, 450.0, 20.0])
    monkeypatch.setattr(_common, "file_creation_us", lambda directory, files: next(costs))
    scratch = Scratch(tmp_path)
    run = scratch.dir("b6-raw-1")
    assert scratch.health_us == [900.0, 450.0, 20.0]
    sessions = sorted(p for p in tmp_path.iterdir() if p.is_dir())
    assert len(sessions) == 3 and run.parent in sessions
    assert run.parent == scratch.session and scratch.dir("b6-job-1").parent == run.parent  # the third, kept

    scratch.remove()
    assert not any(p.is_dir() for p in tmp_path.iterdir())


def test_when_every_session_is_slow_the_fastest_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    costs, tried = iter([900.0, 300.0, 700.0, 500.0, 10.0]), []

    def cost(directory: Path, files: int) -> float:
        tried.append(directory.parent)
        return next(costs)

    monkeypatch.setattr(_common, "file_creation_us", cost)
    scratch = Scratch(tmp_path)
    session = scratch.session
    assert scratch.health_us == [900.0, 300.0, 700.0, 500.0]  # SESSION_ATTEMPTS, no more
    assert len(set(tried)) == 4 and session == tried[1]
    assert scratch.session == session


def test_remove_reaps_the_sessions_of_dead_processes_of_this_host_only(tmp_path: Path) -> None:
    host = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f"{host}-{child.pid}-20260101T000000"
    alive = tmp_path / f"{host}-{os.getppid()}-20260101T000000"
    elsewhere = tmp_path / f"not-{host}-1-20260101T000000"
    for d in (dead, alive, elsewhere):
        (d / "001-b6-in").mkdir(parents=True)

    Scratch(tmp_path).remove()

    assert not dead.exists()
    assert alive.is_dir() and elsewhere.is_dir()


def test_the_root_is_the_environment_variable_else_a_directory_of_the_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SCRATCH_ENV, str(tmp_path / "bench"))
    assert scratch_root() == (tmp_path / "bench").resolve()
    monkeypatch.delenv(SCRATCH_ENV)
    assert scratch_root() == DEFAULT_SCRATCH
    assert DEFAULT_SCRATCH.parent == REPO / "benchmarks"
    gitignore = (REPO / ".gitignore").read_text().splitlines()
    assert "benchmarks/.scratch/" in gitignore
    assert "prune benchmarks/.scratch" in (REPO / "MANIFEST.in").read_text().splitlines()


def test_a_process_removes_its_scratch_when_it_exits(tmp_path: Path) -> None:
    code = "from benchmarks._common import scratch_dir; d = scratch_dir('b6-in'); print(d); print(d.is_dir())"
    env = {**os.environ, SCRATCH_ENV: str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    made, existed = done.stdout.split()
    assert existed == "True" and Path(made).parent.parent == tmp_path.resolve()
    assert not Path(made).parent.exists()  # the whole session, gone at exit
    assert tmp_path.is_dir()


def test_file_creation_cost_is_measured_on_new_files(tmp_path: Path) -> None:
    us = file_creation_us(tmp_path / "probe", files=50, size=76)
    assert us > 0
    created = sorted((tmp_path / "probe").iterdir())
    assert len(created) == 50 and {p.stat().st_size for p in created} == {76}


def test_spreading_subdirectories_is_best_effort(tmp_path: Path) -> None:
    assert spread_subdirectories(tmp_path / "missing") is False  # no error: ext4's `chattr +T` or nothing
    assert isinstance(spread_subdirectories(tmp_path), bool)

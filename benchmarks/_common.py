"""What every benchmark shares: CPU pinning, timing, medians, machine facts, the result tables."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import platform
import resource
import socket
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent

# -- options -----------------------------------------------------------------------------


@dataclasses.dataclass
class Options:
    """Knobs shared by every benchmark (``python -m benchmarks --help``)."""

    quick: bool = False
    runs: int = 5
    #: Tiny mode for the smoke test: a handful of requests, numbers meaningless.
    tiny: bool = False
    verbose: bool = True
    #: Batch sizes of B4 (default: 1k, 10k, 30k; quick: 1k, 5k).
    b4_sizes: list[int] | None = None

    def log(self, msg: str) -> None:
        if self.verbose:
            print(msg, file=sys.stderr, flush=True)


# -- CPUs and clocks -----------------------------------------------------------------------

CLIENT_CORE = 0
SERVER_CORE = 1


def cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return list(range(os.cpu_count() or 1))


def pin(role: str) -> int | None:
    """Pin this process to one core: the client side to the first, servers to the second.

    With a single core available, nothing is pinned (everything shares it).
    """
    available = cores()
    if len(available) < 2 or not hasattr(os, "sched_setaffinity"):
        return None
    core = available[0] if role == "client" else available[1]
    os.sched_setaffinity(0, {core})
    return core


def cpu_seconds() -> float:
    """CPU time of this process, user + system, all threads (not wall time)."""
    return time.process_time()


def proc_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of another process so far, from ``/proc`` (0.0 if unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15 of stat)


def proc_peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a running process, in MiB (0.0 if unknown)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def self_peak_rss_mb() -> float:
    """Peak RSS of this process image, in MiB: ``VmHWM``.

    Not ``getrusage().ru_maxrss``: Linux carries it over ``exec`` from the forked copy of
    the parent, so a child started by a large parent would report the parent's size.
    """
    peak = proc_peak_rss_mb(os.getpid())
    return peak or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0, *, process: Any = None) -> None:
    """Wait until something listens on ``port``; fail early if ``process`` (a ``Popen``) exits."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s") from None
            time.sleep(0.02)


# -- statistics ----------------------------------------------------------------------------


def median(values: Iterable[float]) -> float:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else float("nan")


def spread(values: Sequence[float]) -> str:
    """``min..max`` of several runs, for the tables."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return ""
    return f"{fmt(min(vals))}..{fmt(max(vals))}"


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "n/a"
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{max(digits - 1, 1)}f}".rstrip("0").rstrip(".")
    return str(value)


# -- results -------------------------------------------------------------------------------


@dataclasses.dataclass
class Goal:
    """One goal of the issue: what was measured against what was wanted."""

    name: str
    target: str
    value: float | None
    met: bool | None
    unit: str = ""
    note: str = ""


@dataclasses.dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""


@dataclasses.dataclass
class BenchResult:
    key: str  # "B1"
    title: str
    tables: list[Table] = dataclasses.field(default_factory=list)
    goals: list[Goal] = dataclasses.field(default_factory=list)
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    ran_at: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BenchResult:
        """Back from ``results.json`` (to merge a partial rerun with earlier results)."""
        fields = {f.name for f in dataclasses.fields(cls)}
        r = cls(**{k: v for k, v in d.items() if k in fields})
        r.tables = [Table(**t) for t in d.get("tables", [])]
        r.goals = [Goal(**g) for g in d.get("goals", [])]
        return r


def _dist_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": len(cores()),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {
            name: _dist_version(name)
            for name in ("voiceapi-async", "aiohttp", "msgspec", "httpx", "pydantic", "requests")
        },
    }


def _cell(value: Any) -> str:
    text = " ".join(fmt(value).split()).replace("|", "\\|")
    return (text[:300] + "...") if len(text) > 300 else text


def markdown(results: Sequence[BenchResult], info: dict[str, Any], opts: Options) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    out = [
        "# Benchmark results",
        "",
        f"- date: {info['date']}; mode: {'quick' if opts.quick else 'full'}; runs per figure: {opts.runs}",
        f"- machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB RAM, {info['os']}",
        f"- Python {info['python']}; {versions}",
        "- figures are medians over the runs (min..max in brackets where shown); ratios are taken"
        " within each run, then the median of the per-run ratios is shown",
        "",
        "## Goals",
        "",
        "| benchmark | goal | target | measured | met |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in results:
        if r.error:
            out.append(f"| {r.key} | (not run) | | {_cell(r.error)} | |")
        for g in r.goals:
            met = "n/a" if g.met is None else ("**yes**" if g.met else "**NO**")
            value = f"{_cell(g.value)} {g.unit}".strip()
            out.append(f"| {r.key} | {_cell(g.name)} | {_cell(g.target)} | {value} | {met} |")
    for r in results:
        out += ["", f"## {r.key} — {r.title}", ""]
        if r.error:
            out += [f"Not run: {r.error}", ""]
        for t in r.tables:
            out += [f"### {t.title}", ""] if t.title else []
            out.append("| " + " | ".join(t.headers) + " |")
            out.append("| " + " | ".join("---" for _ in t.headers) + " |")
            out += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
            out += ["", t.note, ""] if t.note else [""]
        for n in r.notes:
            out.append(f"- {n}")
        out += ["", f"_{r.key} took {r.seconds:.0f} s (run {r.ran_at})._"]
    return "\n".join(out) + "\n"


def write_results(
    results: Sequence[BenchResult], opts: Options, directory: Path = RESULTS_DIR, *, merge: bool = False
) -> Path:
    """Write ``results.md`` and ``results.json``.

    With ``merge`` (a partial run, ``--only``), results of benchmarks not rerun are kept
    from the existing ``results.json``, each with the date it was measured.
    """
    directory.mkdir(parents=True, exist_ok=True)
    info = machine()
    for r in results:
        r.ran_at = r.ran_at or info["date"]
    existing = directory / "results.json"
    if merge and existing.exists():
        try:
            old = json.loads(existing.read_text())["results"]
        except (ValueError, KeyError):
            old = {}
        new = {r.key: r for r in results}
        order = ["B5", "B1", "B2", "B3", "B4", "B6", "B7"]
        merged = {**{k: BenchResult.from_dict(v) for k, v in old.items()}, **new}
        results = [merged[k] for k in order if k in merged] + [v for k, v in merged.items() if k not in order]
    payload = {
        "machine": info,
        "options": dataclasses.asdict(opts),
        "results": {r.key: dataclasses.asdict(r) for r in results},
    }
    (directory / "results.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (directory / "results.md").write_text(markdown(results, info, opts))
    return directory / "results.md"

"""What every benchmark shares: CPU pinning, timing, medians, machine facts, the result tables, scratch directories."""

from __future__ import annotations

import atexit
import dataclasses
import datetime as dt
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import sys
import tempfile
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


# -- scratch directories --------------------------------------------------------------------

#: Where the benchmarks write their files (inputs, outputs, journals, the emulator's data).
SCRATCH_ENV = "VOICEAPI_BENCH_DIR"
#: The default: gitignored, and not ``/tmp``, where the test suites' churn makes creating
#: files slow (see "Where the files go" in ``benchmarks/README.md``).
DEFAULT_SCRATCH = Path(__file__).resolve().parent / ".scratch"
#: ``FS_TOPDIR_FL`` (``chattr +T``): ext2/3/4 place each subdirectory of such a directory
#: in a block group of its own choosing (Orlov's top-level policy), not next to its parent.
_FS_TOPDIR_FL = 0x00020000


def scratch_root() -> Path:
    """``$VOICEAPI_BENCH_DIR``, else ``benchmarks/.scratch``."""
    return Path(os.environ.get(SCRATCH_ENV) or DEFAULT_SCRATCH).resolve()


def spread_subdirectories(directory: Path) -> bool:
    """``chattr +T directory`` on ext2/3/4 (False elsewhere, or where it is not allowed).

    A new directory is otherwise placed in its parent's block group, so a session made
    where the previous one was just removed gets the same group, where ext4 (without a
    journal) skips every inode deleted in the last 60-360 s for each file it creates.
    """
    try:
        import fcntl
        import struct

        size = struct.calcsize("l")
        get_flags = (2 << 30) | (size << 16) | (ord("f") << 8) | 1  # FS_IOC_GETFLAGS
        set_flags = (1 << 30) | (size << 16) | (ord("f") << 8) | 2  # FS_IOC_SETFLAGS
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            buf = bytearray(size)
            fcntl.ioctl(fd, get_flags, buf)
            flags = int.from_bytes(buf[:4], sys.byteorder)
            if not flags & _FS_TOPDIR_FL:
                fcntl.ioctl(fd, set_flags, (flags | _FS_TOPDIR_FL).to_bytes(4, sys.byteorder) + bytes(size - 4))
            return True
        finally:
            os.close(fd)
    except (ImportError, OSError):
        return False


class Scratch:
    """One process's scratch session: ``<root>/<host>-<pid>-<time>-<random>/``, a fresh directory per run inside.

    Nothing in it is deleted while the process runs (a deletion slows every file created
    after it in that block group for minutes); :meth:`remove` deletes it all at once, with
    the sessions of processes of this host that died without removing theirs.

    The root is marked ``chattr +T``, so each session lands in a block group chosen anew
    (often an empty one) and a process's files stay in its session's group: removing
    a session leaves one group slow for a few minutes, not one per run directory.  A
    session whose group turns out slow anyway (measured on ``HEALTH_FILES`` files: another
    process deleted files there lately) is set aside for another, ``SESSION_ATTEMPTS``
    times at most, then the fastest one is kept.
    """

    HEALTH_FILES = 200
    SESSION_ATTEMPTS = 4

    def __init__(self, root: Path) -> None:
        self.root = root
        self._session: Path | None = None
        self._sessions: list[Path] = []
        self._made = 0
        self.spread = False
        #: CPU us per file created in each session tried, in order.
        self.health_us: list[float] = []

    @property
    def session(self) -> Path:
        if self._session is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self.spread = spread_subdirectories(self.root)
            prefix = f"{socket.gethostname()}-{os.getpid()}-{dt.datetime.now():%Y%m%dT%H%M%S}-"
            tried: dict[Path, float] = {}
            for _ in range(self.SESSION_ATTEMPTS):
                session = Path(tempfile.mkdtemp(prefix=prefix, dir=self.root))
                self._sessions.append(session)
                tried[session] = file_creation_us(session / "000-health", self.HEALTH_FILES)
                if tried[session] <= SLOW_FILE_CREATION_US:
                    break
            self.health_us = list(tried.values())
            self._session = min(tried, key=tried.__getitem__)  # the healthy one, else the fastest
        return self._session

    def dir(self, name: str) -> Path:
        """A new empty directory, never handed out before: ``<session>/<n>-<name>``."""
        self._made += 1
        path = self.session / f"{self._made:03d}-{name}"
        path.mkdir()
        return path

    def remove(self) -> None:
        """Delete the sessions of this object and of this host's dead processes."""
        for session in self._sessions:
            shutil.rmtree(session, ignore_errors=True)
        self._session, self._sessions = None, []
        host = socket.gethostname()
        for stale in self.root.glob(f"{host}-*-*"):
            pid = stale.name[len(host) + 1 :].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


_scratch: Scratch | None = None


def scratch() -> Scratch:
    """This process's scratch session (made on first use, removed when the process exits)."""
    global _scratch
    if _scratch is None:
        _scratch = Scratch(scratch_root())
        owner = os.getpid()
        atexit.register(lambda: _scratch.remove() if _scratch is not None and os.getpid() == owner else None)
    return _scratch


def scratch_dir(name: str) -> Path:
    """A fresh directory for one run's files, under :func:`scratch_root`; removed when the process exits."""
    return scratch().dir(name)


#: Above this, creating a file costs the filesystem far more than on a healthy one (15-25 us here).
SLOW_FILE_CREATION_US = 100.0


def file_creation_us(directory: Path, files: int = 2000, size: int = 76) -> float:
    """CPU microseconds (user + system) per ``size``-byte file created in ``directory`` (made if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    body = b"\0" * size
    cpu0 = time.process_time()
    for i in range(files):
        fd = os.open(directory / f"p{i:05d}", os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
    return (time.process_time() - cpu0) / files * 1e6


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

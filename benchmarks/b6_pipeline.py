"""B6 — the orchestrator's CPU per file against a raw aiohttp pipeline doing the same requests.

Tiny generated WAVs (as in B4) go through a one-voice ``BatchConvertJob`` (upload, order,
bulk poll, streamed download, every step journaled) and through ``_rawpipe`` (the same
upload, order, per-file GET until done and streamed download in plain aiohttp, no
journal), each in a fresh process pinned to the client core, at the same concurrency,
against one emulator process on the other core (delays 0, rate limits off), in the
same run.  Reported: CPU per file (user + system, all threads, from the start of the
job to its summary) of each, their ratio, the job's files per second, and the
emulator's CPU use meanwhile (well under 100% of its core: the emulator is not what
limits the job).

Every run writes into directories of its own under the scratch root (``_common.scratch_dir``),
and nothing is deleted before the process ends: on ext4 without a journal, a file created
where thousands were just deleted costs 10-30 times the CPU (``benchmarks/README.md``,
"Where the files go").  Before the runs, the CPU cost of creating a 76-byte file in a fresh
scratch directory is measured and shown next to the results, flagged when far above a
healthy filesystem's: then files per second says more about the disk than about the SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._batch import batch_against, voice_ids, write_tiny_wavs
from ._common import (
    ROOT,
    SCRATCH_ENV,
    SLOW_FILE_CREATION_US,
    BenchResult,
    Goal,
    Options,
    Scratch,
    Table,
    file_creation_us,
    median,
    scratch,
    scratch_dir,
    spread,
)
from ._emuproc import EmulatorProcess
from ._rawpipe import run_raw

CONCURRENCY = 16
GOAL_RATIO = 1.5
GOAL_RATE = 600.0
JOB = {
    "upload_concurrency": CONCURRENCY,
    "download_concurrency": CONCURRENCY,
    "poll_interval": 0.02,
    "max_poll_interval": 0.05,
}


SCRATCH_HINT = f"{SCRATCH_ENV}=DIR"
#: Files the scratch directory's creation cost is measured on (76 bytes each, as the inputs).
PROBE_FILES = 2000


def files(opts: Options) -> int:
    return 40 if opts.tiny else (1000 if opts.quick else 3000)


def _emulator_config() -> Any:
    from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig

    return EmulatorConfig(rate_limits=RateLimitConfig.off(), original_delay=0.0, conversion_delay=(0.0, 0.0))


def _shown(path: Path) -> str:
    """``path`` relative to the repository when inside it (results are committed; checkouts differ)."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def measure(opts: Options) -> dict[str, Any]:
    n = files(opts)
    creation_us = file_creation_us(scratch_dir("b6-file-creation"), PROBE_FILES)
    slow = creation_us > SLOW_FILE_CREATION_US
    opts.log(
        f"  B6 scratch {_shown(scratch().root)}: {creation_us:.0f} us of CPU per file created"
        + (f" (SLOW: over {SLOW_FILE_CREATION_US:.0f} us, the filesystem limits files/s)" if slow else "")
    )
    inputs = scratch_dir("b6-in")
    write_tiny_wavs(inputs, n)
    runs = []
    for i in range(1 if opts.tiny else opts.runs):
        with EmulatorProcess(_emulator_config()) as emu:  # its data: a fresh scratch directory too
            raw_spec = {
                "base_url": emu.base_url,
                "api_key": emu.api_key,
                "inputs": str(inputs),
                "output": str(scratch_dir(f"b6-raw-{i + 1}")),
                "voice_id": voice_ids(emu, 1)[0],
                "concurrency": CONCURRENCY,
            }
            raw = run_raw(raw_spec)
            if raw["done"] != n:
                raise RuntimeError(f"the raw pipeline wrote {raw['done']} of {n} files")
            job = batch_against(emu, inputs, scratch_dir(f"b6-job-{i + 1}"), 1, job=JOB)
        runs.append({"files": n, "raw": raw, "job": job})
        opts.log(
            f"  B6 run {i + 1}: job {job['cpu'] / n * 1000:.2f} ms/file, raw {raw['cpu'] / n * 1000:.2f} ms/file,"
            f" {n / job['wall']:.0f} files/s, emulator {job['emulator_cpu'] / job['wall']:.0%}"
            f" ({job['emulator_cpu'] / n * 1000:.2f} ms/file)"
        )
    scratch_info = {
        "root": _shown(scratch().root),
        "session": str(scratch().session),
        "spread": scratch().spread,
        "session_health_us": scratch().health_us,  # per session tried (HEALTH_FILES files each)
        "file_creation_us": creation_us,
    }
    return {"runs": runs, "scratch": scratch_info}


def run(opts: Options) -> BenchResult:
    measured = measure(opts)
    runs, fs = measured["runs"], measured["scratch"]
    res = BenchResult("B6", "orchestrator CPU per file", raw={**measured, "concurrency": CONCURRENCY})
    n = runs[0]["files"]
    job_ms = [r["job"]["cpu"] / n * 1000 for r in runs]
    raw_ms = [r["raw"]["cpu"] / n * 1000 for r in runs]
    ratios = [r["job"]["cpu"] / r["raw"]["cpu"] for r in runs]
    rates = [n / r["job"]["wall"] for r in runs]
    raw_rates = [n / r["raw"]["wall"] for r in runs]
    emu_use = [r["job"]["emulator_cpu"] / r["job"]["wall"] for r in runs]
    emu_ms = [r["job"]["emulator_cpu"] / n * 1000 for r in runs]
    journal = [r["job"]["journal_bytes"] / n for r in runs]
    res.tables.append(
        Table(
            f"{n:,} tiny files, 1 voice, concurrency {CONCURRENCY}, emulator delays 0 and limits off",
            ["pipeline", "CPU ms / file", "range", "files / s", "range", "journal bytes / file"],
            [
                ["raw aiohttp (no journal)", median(raw_ms), spread(raw_ms), median(raw_rates), spread(raw_rates), 0],
                ["BatchConvertJob", median(job_ms), spread(job_ms), median(rates), spread(rates), median(journal)],
            ],
            "CPU: user + system of the whole client process, all threads. The raw pipeline asks for each"
            " conversion with its own GET; the job polls the project in bulk.",
        )
    )
    res.tables.append(
        Table(
            "Ratio and the emulator's load during the job",
            ["job / raw CPU per file", "range", "emulator CPU use (of one core)", "emulator CPU ms / file"],
            [[median(ratios), spread(ratios), median(emu_use), median(emu_ms)]],
        )
    )
    res.goals.append(
        Goal(
            "orchestrator CPU per file vs raw aiohttp",
            f"<= {GOAL_RATIO}x",
            median(ratios),
            median(ratios) <= GOAL_RATIO,
            "x",
        )
    )
    res.goals.append(
        Goal(
            "files per second on one client core",
            f">= {GOAL_RATE:.0f}",
            median(rates),
            median(rates) >= GOAL_RATE,
            "files/s",
            note=f"wall clock; emulator at {median(emu_use):.0%} of its core",
        )
    )
    slow = fs["file_creation_us"] > SLOW_FILE_CREATION_US
    res.tables.append(
        Table(
            "Creating files in the scratch directory (measured before the runs)",
            ["scratch root", "CPU us / 76-byte file", "healthy", "verdict", "session check, us per try"],
            [
                [
                    fs["root"],
                    fs["file_creation_us"],
                    f"<= {SLOW_FILE_CREATION_US:.0f}",
                    "SLOW: files/s is the filesystem's limit, not the SDK's" if slow else "ok",
                    ", ".join(f"{us:.0f}" for us in fs["session_health_us"]),
                ]
            ],
            f"{PROBE_FILES:,} files created in a fresh directory, CPU (user + system) per file. Each pipeline"
            " creates one file per input (its output, written as a partial file renamed into place), and"
            f" the CPU per file above includes its cost; set {SCRATCH_HINT} to write elsewhere. Session check:"
            f" {Scratch.HEALTH_FILES} files in each session tried, another tried while over"
            f' {SLOW_FILE_CREATION_US:.0f} us (README, "Where the files go").',
        )
    )
    if slow:
        res.notes.append(
            f"SLOW FILESYSTEM: creating a file in {fs['root']} cost {fs['file_creation_us']:.0f} us of CPU"
            f" (healthy: under {SLOW_FILE_CREATION_US:.0f} us); the CPU per file and files/s above include it."
        )
    ceiling = [1000 / ms for ms in job_ms]
    res.goals.append(
        Goal(
            "files per client CPU-second (the one-core ceiling)",
            f">= {GOAL_RATE:.0f}",
            median(ceiling),
            median(ceiling) >= GOAL_RATE,
            "files/s",
            note="1 / CPU per file: what one core would sustain if nothing else ran on it",
        )
    )
    return res

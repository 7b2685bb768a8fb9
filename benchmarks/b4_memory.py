"""B4 — memory and scale: peak RSS of the whole pipeline as the batch grows.

Batches of tiny generated WAVs (44-byte header + 16 samples, in sub-directories of 1,000)
go through a one-voice ``BatchConvertJob`` (upload, order, poll, download; default
memory-relevant options) against the emulator, rate limits off.  The job runs in a
fresh process of its own, so its peak RSS (``VmHWM``) is the orchestrator's alone; the
emulator runs in another.  Also the journal's size per item, and one large file
(500 MB, a sparse WAV) uploaded with ``client.recordings.create``: the RSS growth
during the upload must stay small (the body is streamed from disk).
"""

from __future__ import annotations

import time
from typing import Any

from ._batch import batch_against, run_batch, write_large_wav, write_tiny_wavs
from ._common import BenchResult, Goal, Options, Table, fmt, scratch_dir
from ._emuproc import EmulatorProcess

LARGE = 500 * 1000 * 1000
GOAL_FLAT = 1.5
GOAL_ABS_MB = 200.0
GOAL_LARGE_MB = 20.0
#: More uploads and downloads in flight than the defaults (4/4), to keep the 100k run short.
JOB = {"upload_concurrency": 16, "download_concurrency": 16}


def sizes(opts: Options) -> list[int]:
    """1k, 10k and 30k files by default: 100k takes about 9 minutes here (``--b4-sizes 1000,100000``)."""
    if opts.b4_sizes:
        return sorted(opts.b4_sizes)
    if opts.tiny:
        return [50, 200]
    if opts.quick:
        return [1000, 5000]
    return [1000, 10_000, 30_000]


def _emulator_config(**changes: Any) -> Any:
    from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig

    return EmulatorConfig(
        **{"rate_limits": RateLimitConfig.off(), "original_delay": 0.05, "conversion_delay": (0.1, 0.3), **changes}
    )


def measure(opts: Options) -> dict[str, Any]:
    batches = []
    made = 0
    inputs = scratch_dir("b4-in")  # each size's outputs in a directory of its own: nothing deleted in between
    for n in sizes(opts):
        t0 = time.monotonic()
        write_tiny_wavs(inputs, n - made, start=made)  # each batch reuses the smaller one's files
        made = n
        opts.log(f"  B4: {n:,} files (generated in {time.monotonic() - t0:.0f} s)")
        with EmulatorProcess(_emulator_config()) as emu:
            r = batch_against(emu, inputs, scratch_dir(f"b4-out-{n}"), 1, job=JOB)
            emulator_rss = emu.peak_rss_mb()
        batches.append(
            {
                "files": n,
                "peak_rss_mb": r["peak_rss_mb"],
                "rss_before_job_mb": r["rss_before_job_mb"],
                "journal_bytes": r["journal_bytes"],
                "wall": r["wall"],
                "cpu": r["cpu"],
                "requests": r["server"]["requests_total"],
                "emulator_cpu": r["emulator_cpu"],
                "emulator_peak_rss_mb": emulator_rss,
                "memory_timeline": r["memory_timeline"],
            }
        )
        opts.log(f"    peak RSS {r['peak_rss_mb']:.1f} MB, {r['wall']:.0f} s, {n / r['wall']:.0f} files/s")
    large = scratch_dir("b4-large") / "large.wav"
    write_large_wav(large, LARGE)
    opts.log(f"  B4: one {LARGE / 1e6:.0f} MB file")
    uploads = []
    with EmulatorProcess(_emulator_config()) as emu:
        for _ in range(1 if opts.tiny else 3):  # a fresh process each time
            spec = {"base_url": emu.base_url, "api_key": emu.api_key, "large_file": str(large)}
            up = run_batch(spec)
            up["growth_mb"] = up["peak_rss_mb"] - up["rss_before_mb"]
            uploads.append(up)
    return {"batches": batches, "large": uploads, "large_size": LARGE}


def run(opts: Options) -> BenchResult:
    raw = measure(opts)
    res = BenchResult("B4", "memory and scale", raw=raw)
    rows = []
    for b in raw["batches"]:
        rows.append(
            [
                b["files"],
                b["peak_rss_mb"],
                b["rss_before_job_mb"],
                b["journal_bytes"] / b["files"],
                b["journal_bytes"] / 1e6,
                b["wall"],
                b["files"] / b["wall"],
                b["cpu"] / b["files"] * 1000,
                b["emulator_cpu"] / b["wall"],
            ]
        )
    res.tables.append(
        Table(
            "Tiny files through the whole pipeline (1 voice)",
            [
                "files",
                "peak RSS (MB)",
                "RSS before the job (MB)",
                "journal bytes / item",
                "journal (MB)",
                "wall (s)",
                "files / s",
                "job CPU ms / file",
                "emulator CPU use",
            ],
            rows,
            "RSS before the job: the process after imports and client set-up (Python + aiohttp + SDK).",
        )
    )
    first, last = raw["batches"][0], raw["batches"][-1]
    growth = last["peak_rss_mb"] / first["peak_rss_mb"]
    size = raw["large_size"]
    up_growth = max(up["growth_mb"] for up in raw["large"])
    res.tables.append(
        Table(
            "One large file uploaded (each time in a fresh process)",
            ["upload", "size (MB)", "RSS before (MB)", "peak RSS (MB)", "growth (MB)", "wall (s)", "MB/s"],
            [
                [
                    i + 1,
                    size / 1e6,
                    up["rss_before_mb"],
                    up["peak_rss_mb"],
                    up["growth_mb"],
                    up["wall"],
                    size / 1e6 / up["wall"],
                ]
                for i, up in enumerate(raw["large"])
            ],
            "The goal is read on the largest growth of the uploads.",
        )
    )
    res.goals.append(
        Goal(
            f"peak RSS at {last['files']:,} files / at {first['files']:,}",
            f"<= {GOAL_FLAT}",
            growth,
            growth <= GOAL_FLAT,
            "x",
        )
    )
    res.goals.append(
        Goal(
            f"peak RSS at {last['files']:,} files",
            f"< {GOAL_ABS_MB:.0f} MB",
            last["peak_rss_mb"],
            last["peak_rss_mb"] < GOAL_ABS_MB,
            "MB",
        )
    )
    res.goals.append(
        Goal(
            "journal bytes per item",
            "(context)",
            last["journal_bytes"] / last["files"],
            None,
            "B",
        )
    )
    res.goals.append(
        Goal(
            "RSS growth uploading one 500 MB file",
            f"< {GOAL_LARGE_MB:.0f} MB",
            up_growth,
            up_growth < GOAL_LARGE_MB,
            "MB",
        )
    )
    res.notes.append(
        f"Job options: {JOB} (more in flight than the default 4/4, to shorten the largest run); "
        f"other options default (max_active=200). One run per size; the largest took {fmt(last['wall'])} s."
    )
    return res

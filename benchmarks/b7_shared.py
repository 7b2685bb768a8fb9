"""B7 — three processes, one account: the in-process limiter against the shared one on Redis.

Three ``BatchConvertJob`` processes use the same API key at once, each on its own
inputs, against the emulator enforcing scaled-down per-account limits (as B3: fast
100/s, slow 70/s, ``Retry-After`` in whole seconds).  Each job adopts the account's
limits (``auth.me()``), as an application would.  Two scenarios:

- **without the store** (today's default, for the record): each process paces itself to
  the whole account's budget, so together they send about three times what is permitted;
- **with the store**: ``VOICEAPI_RATE_LIMIT_URL`` points the three at one throwaway
  ``redis-server``, so they share one budget.

Reported: 429 answers as a share of all requests (the emulator's counters), and, on the
binding bucket (slow: uploads and orders), the steady rate of accepted requests of the
three processes together (one clock: the machine's monotonic clock) against the
permitted rate, as in B3.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._batch import counters_diff, run_batch, voice_ids, write_tiny_wavs
from ._common import BenchResult, Goal, Options, Table, scratch_dir
from ._emuproc import EmulatorProcess
from ._servers import redis_binary, redis_server
from .b3_ratelimit import CONVERSION_DELAY, FAST_PER_S, ORIGINAL_DELAY, SLOW_PER_S, bucket_use

PROCESSES = 3
GOAL_429 = 0.01
GOAL_UTILISATION = 0.9


def _scenario(emu: EmulatorProcess, root: Path, files: int, store: str | None, opts: Options) -> dict[str, Any]:
    """The three jobs at once; their timelines merged; the server's counts."""
    voices = voice_ids(emu, 1)
    t0 = time.monotonic()
    specs = []
    for i in range(PROCESSES):
        inputs = root / f"in{i}"
        write_tiny_wavs(inputs, files, start=i * files)
        specs.append(
            {
                "base_url": emu.base_url,
                "api_key": emu.api_key,
                "inputs": str(inputs),
                "output": str(root / f"out{i}"),
                "voice_ids": voices,
                "limits": "adopt",
                "job": {"upload_concurrency": 8},
                "timeline": True,
                "t0": t0,
                "env": {"VOICEAPI_RATE_LIMIT_URL": store or ""},
            }
        )
    before = emu.counters()
    with ThreadPoolExecutor(PROCESSES) as pool:
        results = list(pool.map(run_batch, specs))
    wall = time.monotonic() - t0
    server = counters_diff(emu.counters(), before)
    buckets: dict[str, Any] = {}
    for name, per_s in (("fast", FAST_PER_S), ("slow", SLOW_PER_S)):
        events = [e for r in results for e in r["timeline"][name]]
        accepted = [t for t, status in events if status != 429]
        buckets[name] = bucket_use(accepted, per_s, per_s)
        buckets[name]["limit_per_s"] = per_s
        buckets[name]["rate_limited"] = sum(1 for _, status in events if status == 429)
    opts.log(
        f"    {'with' if store else 'without'} the store: {server['requests_total']:,} requests, "
        f"{server['rate_limited']:,} answered 429, {wall:.1f} s"
    )
    return {
        "store": bool(store),
        "wall": wall,
        "requests": server["requests_total"],
        "rate_limited": server["rate_limited"],
        "uploads": server["uploads_total"],
        "orders": server["orders_total"],
        "done": sum(r["done"] for r in results),
        "failed": sum(r["failed"] for r in results),
        "buckets": buckets,
    }


def measure(opts: Options) -> dict[str, Any]:
    from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig, RateRule

    if redis_binary() is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    files = 20 if opts.tiny else 150 if opts.quick else 500  # per process
    cfg = EmulatorConfig(
        rate_limits=RateLimitConfig(RateRule(FAST_PER_S, 1), RateRule(SLOW_PER_S, 1), True, "int"),
        original_delay=ORIGINAL_DELAY,
        conversion_delay=CONVERSION_DELAY,
    )
    opts.log(f"  B7: {PROCESSES} processes x {files} files, one key, limits fast {FAST_PER_S}/s, slow {SLOW_PER_S}/s")
    scenarios = {}
    # A fresh emulator per scenario: the account's windows start empty for both.
    with EmulatorProcess(cfg) as emu:
        scenarios["without"] = _scenario(emu, scratch_dir("b7-without"), files, None, opts)
    with EmulatorProcess(cfg) as emu, redis_server() as redis:
        scenarios["with"] = _scenario(emu, scratch_dir("b7-with"), files, redis.url, opts)
    return {"files_per_process": files, "processes": PROCESSES, "scenarios": scenarios}


def run(opts: Options) -> BenchResult:
    raw = measure(opts)
    res = BenchResult("B7", "three processes sharing one account", raw=raw)
    rows = []
    for name, sc in raw["scenarios"].items():
        slow = sc["buckets"]["slow"]
        rows.append(
            [
                f"{name} the Redis store",
                sc["requests"],
                sc["rate_limited"],
                f"{sc['rate_limited'] / max(1, sc['requests']):.2%}",
                slow.get("steady_rate", 0.0),
                slow["steady"],
                sc["buckets"]["fast"]["steady"],
                sc["done"],
                sc["failed"],
                sc["wall"],
            ]
        )
    res.tables.append(
        Table(
            f"{raw['processes']} processes x {raw['files_per_process']:,} files, one key;"
            f" emulator limits fast {FAST_PER_S}/s, slow {SLOW_PER_S}/s (binding: slow)",
            [
                "scenario",
                "requests",
                "429 answers",
                "429 share",
                "slow: steady accepted / s (all processes)",
                "slow: steady / permitted",
                "fast: steady / permitted",
                "files done",
                "files failed",
                "wall (s)",
            ],
            rows,
            "Steady rate: the least-squares slope of the cumulative count of accepted requests of the three"
            " processes against time, between the 10th and 90th percentile of send times (as B3).",
        )
    )
    shared = raw["scenarios"]["with"]
    share = shared["rate_limited"] / max(1, shared["requests"])
    util = shared["buckets"]["slow"]["steady"]
    res.goals.append(
        Goal("with the store: 429 answers / requests", f"< {GOAL_429:.0%}", share * 100, share < GOAL_429, "%")
    )
    res.goals.append(
        Goal(
            "with the store: steady / permitted rate, binding bucket (slow)",
            f">= {GOAL_UTILISATION}",
            util,
            util >= GOAL_UTILISATION,
        )
    )
    alone = raw["scenarios"]["without"]
    res.notes.append(
        f"Without the store (for the record): {alone['rate_limited']:,} of {alone['requests']:,} requests answered"
        f" 429 ({alone['rate_limited'] / max(1, alone['requests']):.1%})."
    )
    return res

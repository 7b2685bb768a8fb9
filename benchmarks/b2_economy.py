"""B2 — request economy of a batch: HTTP requests per converted file, by endpoint.

A ``BatchConvertJob`` (default options) converts 1,000 tiny WAVs to one voice, then
1,000 to three voices, against the emulator (rate limits off, short processing delays)
running in its own process.  The requests are counted by the emulator (the server's
view, ``/_emulator/counters``); the job's own count (``JobSummary.requests``) is shown
alongside as a cross-check.

The floor is 3 requests per file for one voice (upload, order, download) and, with three
voices, one upload and one order per file (an order carries every target) plus one
download per conversion: 5/3 per conversion.  Polling lists the folder 200 recordings
a page, so it adds a little per file on top.
"""

from __future__ import annotations

from typing import Any

from ._batch import batch_against, write_tiny_wavs
from ._common import BenchResult, Goal, Options, Table, fmt, median, scratch_dir
from ._emuproc import EmulatorProcess

SCENARIOS = {"1 voice": 1, "3 voices": 3}
GOAL_ONE = 3.1
SMALL = 0.1  # the allowance for polling and set-up, per conversion, as for one voice (3 -> 3.1)
GOAL_THREE = 1 / 3 + 1 / 3 + 1 + SMALL


def category(endpoint: str) -> str:
    """The pipeline step an endpoint (``METHOD /template`` from the emulator's counters) serves."""
    method, _, path = endpoint.partition(" ")
    if method == "POST" and path == "/api/recordings":
        return "upload"
    if method == "POST" and path == "/api/v2/orders":
        return "order"
    if method == "POST" and path.startswith("/api/v2/orders/retry"):
        return "retry"
    if method == "GET" and path.startswith("/api/recordings"):
        return "poll"
    if method == "GET" and path.startswith("/api/files/"):
        return "download"
    return "set-up"


STEPS = ("upload", "order", "poll", "download", "retry", "set-up")


def emulator_config(**changes: Any) -> Any:
    from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig

    base: dict[str, Any] = {
        "rate_limits": RateLimitConfig.off(),
        "original_delay": 0.05,
        "conversion_delay": (0.1, 0.3),
    }
    return EmulatorConfig(**{**base, **changes})


def measure(opts: Options) -> dict[str, Any]:
    files = 20 if opts.tiny else 1000
    runs = 1 if (opts.quick or opts.tiny) else max(1, min(opts.runs, 3))
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
    inputs = scratch_dir("b2-in")
    write_tiny_wavs(inputs, files)
    for run in range(runs):
        for name, voices in SCENARIOS.items():
            opts.log(f"  B2 run {run + 1}/{runs}: {files} files x {name}")
            with EmulatorProcess(emulator_config()) as emu:
                r = batch_against(emu, inputs, scratch_dir(f"b2-out-{run}-{voices}"), voices)
            by_step = dict.fromkeys(STEPS, 0)
            for endpoint, n in r["server"]["requests_by_endpoint"].items():
                by_step[category(endpoint)] += n
            out[name].append(
                {
                    "files": files,
                    "conversions": files * voices,
                    "server_requests": r["server"]["requests_total"],
                    "client_requests": r["requests"],
                    "by_step": by_step,
                    "by_endpoint": r["server"]["requests_by_endpoint"],
                    "wall": r["wall"],
                    "rate_limited": r["server"]["rate_limited"],
                }
            )
    return {"scenarios": out, "files": files, "runs": runs}


def run(opts: Options) -> BenchResult:
    raw = measure(opts)
    res = BenchResult("B2", "request economy of a batch", raw=raw)
    per_conv: dict[str, float] = {}
    rows = []
    for step in (*STEPS, "total"):
        row: list[Any] = [step]
        for name in SCENARIOS:
            runs = raw["scenarios"][name]
            counts = [r["server_requests"] if step == "total" else r["by_step"][step] for r in runs]
            conv = runs[0]["conversions"]
            row += [median(counts), median(counts) / runs[0]["files"], median(counts) / conv]
            if step == "total":
                per_conv[name] = median(c / conv for c in counts)
        rows.append(row)
    headers = ["step"]
    for name in SCENARIOS:
        headers += [f"{name}: requests", f"{name}: per file", f"{name}: per conversion"]
    res.tables.append(
        Table(
            f"HTTP requests of a {raw['files']:,}-file batch, counted by the emulator",
            headers,
            rows,
            "per conversion = per converted output (files x voices).",
        )
    )
    ep_rows = []
    endpoints = sorted({e for runs in raw["scenarios"].values() for r in runs for e in r["by_endpoint"]})
    for e in endpoints:
        ep_rows.append(
            [e, category(e), *(median(r["by_endpoint"].get(e, 0) for r in raw["scenarios"][n]) for n in SCENARIOS)]
        )
    res.tables.append(Table("By endpoint", ["endpoint", "step", *SCENARIOS], ep_rows))
    for name in SCENARIOS:
        runs = raw["scenarios"][name]
        res.notes.append(
            f"{name}: server counted {fmt(median(r['server_requests'] for r in runs))} requests, the job's own "
            f"summary {fmt(median(r['client_requests'] for r in runs))}; 429 answers: "
            f"{sum(r['rate_limited'] for r in runs)}; wall {median(r['wall'] for r in runs):.1f} s."
        )
    res.notes.append(f"{raw['runs']} run(s) per scenario; medians shown.")
    res.goals.append(
        Goal(
            "requests per converted file, 1 voice",
            f"<= {GOAL_ONE}",
            per_conv["1 voice"],
            per_conv["1 voice"] <= GOAL_ONE,
        )
    )
    res.goals.append(
        Goal(
            "requests per conversion, 3 voices",
            f"<= {GOAL_THREE:.2f} (1/3 upload + 1/3 order + 1 download + {SMALL})",
            per_conv["3 voices"],
            per_conv["3 voices"] <= GOAL_THREE,
        )
    )
    return res

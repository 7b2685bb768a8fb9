"""B3 — rate-limit utilisation: how much of what the account's limits permit a batch uses.

The emulator enforces scaled-down per-account limits (``fast`` and ``slow`` buckets,
``Retry-After`` in whole seconds like the real service) and a 2,000-file, one-voice
``BatchConvertJob`` runs against it with the client's limiter set from the account
(``client.adopt_account_rate_limits()``, as an application would).  Uploads and orders
are ``slow`` requests, so with these limits the slow bucket is the binding one.

For each bucket, from the send time of every request (an event hook in the job's
process): the achieved rate of accepted requests in steady state (the slope of their cumulative
count between the 10th and 90th percentile of send times) divided by the permitted rate — the goal's figure — and,
stricter, everything accepted over the whole window divided by what the GCRA permits in
it (``times`` at once, then ``times / seconds`` per second).  Also 429
answers as a share of all requests, and the wall time against the theoretical minimum:
``(slow requests of the floor - burst) / slow rate + original delay + longest
conversion delay`` (two slow requests per file: upload and order).
"""

from __future__ import annotations

from typing import Any

from ._batch import batch_against, write_tiny_wavs
from ._common import BenchResult, Goal, Options, Table, fmt, scratch_dir
from ._emuproc import EmulatorProcess

FAST_PER_S = 100
SLOW_PER_S = 70  # 2,000 files x (upload + order) / 70 per s: about a minute
ORIGINAL_DELAY = 0.1
CONVERSION_DELAY = (0.2, 0.4)
GOAL_UTILISATION = 0.95
GOAL_429 = 0.01
GOAL_WALL = 1.10


def bucket_use(times: list[float], burst: int, rate: float) -> dict[str, float]:
    """How much of a bucket accepted requests sent at ``times`` used.

    ``steady``: the least-squares slope of the cumulative count of sends against time,
    between the 10th and the 90th percentile (leaving out start-up and tail), divided by
    the permitted rate: the goal's figure.  A slope, not two end points, because a
    client may send in bursts (a whole window's worth at once).  ``utilisation``:
    stricter, everything accepted over the whole window divided by what the server's
    GCRA permits in it (``burst + rate x window``), so an unused initial burst counts
    against it.
    """
    n = len(times)
    if n < 10:
        return {"accepted": n, "window": 0.0, "achieved_rate": 0.0, "steady": 0.0, "utilisation": 0.0}
    times = sorted(times)
    window = times[-1] - times[0]
    middle = times[n // 10 : n - n // 10]
    m = len(middle)
    mean_t = sum(middle) / m
    mean_i = (m - 1) / 2
    var = sum((t - mean_t) ** 2 for t in middle)
    steady_rate = sum((t - mean_t) * (i - mean_i) for i, t in enumerate(middle)) / var if var > 0 else 0.0
    return {
        "accepted": n,
        "window": window,
        "achieved_rate": n / window if window > 0 else 0.0,
        "steady_rate": steady_rate,
        "steady": steady_rate / rate,
        "utilisation": n / (burst + rate * window),
    }


def measure(opts: Options) -> dict[str, Any]:
    from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig, RateRule

    files = 40 if opts.tiny else 500 if opts.quick else 2000
    limits = {"fast": (FAST_PER_S, 1.0), "slow": (SLOW_PER_S, 1.0)}
    cfg = EmulatorConfig(
        rate_limits=RateLimitConfig(RateRule(FAST_PER_S, 1), RateRule(SLOW_PER_S, 1), True, "int"),
        original_delay=ORIGINAL_DELAY,
        conversion_delay=CONVERSION_DELAY,
    )
    inputs = scratch_dir("b3-in")
    write_tiny_wavs(inputs, files)
    opts.log(f"  B3: {files} files, limits fast {FAST_PER_S}/s, slow {SLOW_PER_S}/s")
    with EmulatorProcess(cfg) as emu:
        r = batch_against(emu, inputs, scratch_dir("b3-out"), 1, limits="adopt", timeline=True)
    buckets = {}
    for name, (times_, seconds) in limits.items():
        sent = [t for t, status in r["timeline"][name] if status != 429]
        buckets[name] = bucket_use(sent, int(times_), times_ / seconds)
        buckets[name]["limit_per_s"] = times_ / seconds
        buckets[name]["rate_limited"] = sum(1 for _, status in r["timeline"][name] if status == 429)
        per_second: dict[int, int] = {}
        for t in sent:
            per_second[int(t)] = per_second.get(int(t), 0) + 1
        buckets[name]["per_second"] = [per_second.get(i, 0) for i in range(max(per_second, default=-1) + 1)]
    floor_slow = 2 * files
    t_min = (floor_slow - SLOW_PER_S) / SLOW_PER_S + ORIGINAL_DELAY + CONVERSION_DELAY[1]
    server = r["server"]
    return {
        "files": files,
        "buckets": buckets,
        "requests": server["requests_total"],
        "rate_limited": server["rate_limited"],
        "rate_limited_by_bucket": server["rate_limited_by_bucket"],
        "wall": r["wall"],
        "t_min": t_min,
        "slow_requests": sum(1 for _, s in r["timeline"]["slow"] if s != 429),
        "fast_requests": sum(1 for _, s in r["timeline"]["fast"] if s != 429),
    }


def run(opts: Options) -> BenchResult:
    raw = measure(opts)
    res = BenchResult("B3", "rate-limit utilisation", raw=raw)
    rows = []
    for name, b in raw["buckets"].items():
        rows.append(
            [
                name,
                b["limit_per_s"],
                b["accepted"],
                b["window"],
                b["achieved_rate"],
                b.get("steady_rate", 0.0),
                b["steady"],
                b["utilisation"],
                b["rate_limited"],
            ]
        )
    res.tables.append(
        Table(
            f"{raw['files']:,} files x 1 voice, emulator limits fast {FAST_PER_S}/s and slow {SLOW_PER_S}/s",
            [
                "bucket",
                "permitted / s",
                "requests accepted",
                "active window (s)",
                "achieved / s (whole window)",
                "steady rate / s (slope, 10th-90th percentile)",
                "steady rate / permitted rate",
                "accepted / (burst + rate x window)",
                "429 answers",
            ],
            rows,
        )
    )
    share_429 = raw["rate_limited"] / max(1, raw["requests"])
    ratio = raw["wall"] / raw["t_min"]
    res.tables.append(
        Table(
            "Wall time",
            ["measured (s)", "theoretical minimum (s)", "ratio", "requests", "429 answers", "429 share"],
            [[raw["wall"], raw["t_min"], ratio, raw["requests"], raw["rate_limited"], f"{share_429:.2%}"]],
            f"Minimum: ({2 * raw['files']:,} slow requests - burst {SLOW_PER_S}) / {SLOW_PER_S} per s"
            f" + original delay {ORIGINAL_DELAY} s + longest conversion delay {CONVERSION_DELAY[1]} s.",
        )
    )
    binding = max(raw["buckets"], key=lambda k: raw["buckets"][k]["accepted"] / raw["buckets"][k]["limit_per_s"])
    util = raw["buckets"][binding]["steady"]
    res.goals.append(
        Goal(
            f"achieved / permitted rate, binding bucket ({binding})",
            f">= {GOAL_UTILISATION}",
            util,
            util >= GOAL_UTILISATION,
        )
    )
    res.goals.append(Goal("429 answers / requests", f"< {GOAL_429:.0%}", share_429 * 100, share_429 < GOAL_429, "%"))
    res.goals.append(Goal("wall time / theoretical minimum", f"<= {GOAL_WALL}", ratio, ratio <= GOAL_WALL, "x"))
    res.notes.append(
        f"One run ({fmt(raw['wall'])} s); the client's limiter keeps a 2% headroom below the account's limits"
        " by design, so 0.98 is the most it will use."
    )
    return res

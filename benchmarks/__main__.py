"""``python -m benchmarks [--quick] [--only B1,B5] [--runs N]``: run the suite, write the tables."""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from ._common import RESULTS_DIR, BenchResult, Options, fmt, write_results

BENCHMARKS = {
    "B1": ("b1_overhead", "client overhead per request"),
    "B2": ("b2_economy", "request economy of a batch"),
    "B3": ("b3_ratelimit", "rate-limit utilisation"),
    "B4": ("b4_memory", "memory and scale"),
    "B5": ("b5_emulator", "emulator throughput"),
    "B6": ("b6_pipeline", "orchestrator CPU per file"),
    "B7": ("b7_shared", "three processes sharing one account"),
}
#: B5 first: the other figures are read against the emulator's capacity.
ORDER = ("B5", "B1", "B2", "B3", "B4", "B6", "B7")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller batches (about 3 minutes)")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated benchmarks to run, e.g. B1,B5 (the others' earlier results are kept)",
    )
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (medians are reported)")
    parser.add_argument(
        "--b4-sizes",
        default="",
        help="B4 batch sizes, e.g. 1000,100000 (default 1000,10000,30000; quick 1000,5000)",
    )
    parser.add_argument("--output", default=str(RESULTS_DIR), help="directory for results.md and results.json")
    args = parser.parse_args(argv)

    only = [k.strip().upper() for k in args.only.split(",") if k.strip()] or list(ORDER)
    unknown = [k for k in only if k not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    runs = args.runs if args.runs is not None else (2 if args.quick else 5)
    b4_sizes = [int(x.replace("_", "")) for x in args.b4_sizes.split(",") if x.strip()] or None
    opts = Options(quick=args.quick, runs=max(1, runs), b4_sizes=b4_sizes)

    from pathlib import Path

    results: list[BenchResult] = []
    started = time.monotonic()
    for key in [k for k in ORDER if k in only]:
        module_name, title = BENCHMARKS[key]
        opts.log(f"{key} — {title}")
        t0 = time.monotonic()
        try:
            module = importlib.import_module(f"benchmarks.{module_name}")
            result: BenchResult = module.run(opts)
        except Exception as exc:  # one broken benchmark must not lose the others' figures
            traceback.print_exc()
            result = BenchResult(key, title, error=f"{type(exc).__name__}: {exc}")
        result.seconds = time.monotonic() - t0
        results.append(result)
        for g in result.goals:
            met = "n/a" if g.met is None else ("met" if g.met else "MISSED")
            opts.log(f"  {g.name}: {fmt(g.value)} {g.unit} (goal {g.target}) {met}")
        opts.log(f"  {key} took {result.seconds:.0f} s")
    path = write_results(results, opts, Path(args.output), merge=bool(args.only))
    print(path.read_text())
    opts.log(f"wrote {path} and results.json in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

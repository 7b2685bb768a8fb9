"""Kill/resume chaos: the invariant of the job orchestrator, measured over many trials.

Each trial: a fresh in-process emulator, N files, faults on every request (5xx, resets
before and after the server acts, 429 bursts), the job (``tests.jobs.crash_worker``)
SIGKILLed at random moments K times, then run again (faults still on) until it reports
completed.  Checked: every file converted and downloaded whole, 0 duplicate uploads,
0 duplicate orders, no partial file left.

    .venv/bin/python scripts/chaos.py --trials 20 --files 200
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.jobs.conftest import fast_config  # noqa: E402
from tests.jobs.helpers import make_tree  # noqa: E402
from voiceapi_async.emulator import Emulator, FaultConfig  # noqa: E402


async def _run(emu: Emulator, inp: Path, out: Path, voice: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.jobs.crash_worker", emu.base_url, emu.api_key, str(inp), str(out), voice,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def _log(text: str) -> None:
    """The stderr of a crashed run, to $CHAOS_LOG when set."""
    if path := os.environ.get("CHAOS_LOG"):
        with open(path, "a") as log:
            log.write(text + "\n----\n")


async def trial(n: int, files: int, kills: int, rng: random.Random) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="voiceapi-chaos-"))
    try:
        make_tree(work / "in", files)
        async with Emulator(fast_config()) as emu:
            voice = emu.store.catalogue.voices[0].name
            faults = FaultConfig(error_rate=0.10, reset_before_rate=0.025, reset_after_rate=0.025, seed=n)
            emu.set_faults(faults)
            for _ in range(kills):
                proc = await _run(emu, work / "in", work / "out", voice)
                assert proc.stdout is not None
                target, seen = rng.randint(1, files * 2), 0
                while seen < target:
                    line = await asyncio.wait_for(proc.stdout.readline(), 120)
                    if not line or line.startswith(b"SUMMARY"):
                        break
                    seen += 1
                await asyncio.sleep(rng.uniform(0, 0.05))
                if proc.returncode is None:
                    proc.send_signal(signal.SIGKILL)
                await proc.wait()
                # a burst of 429s on the next run's first requests
                emu.set_faults(
                    FaultConfig(**{**faults.__dict__, "burst_429": rng.randint(5, 30), "burst_429_retry_after": 0.05})
                )
            runs, summary, endings = 0, "", []
            while not summary.startswith("SUMMARY completed") and runs < 10:
                runs += 1
                proc = await _run(emu, work / "in", work / "out", voice)
                stdout, stderr = await asyncio.wait_for(proc.communicate(), 600)
                summary = stdout.decode().strip().splitlines()[-1] if stdout.strip() else stderr.decode()[-300:]
                if summary.startswith("SUMMARY "):
                    endings.append(summary.split(" ")[1])
                else:
                    endings.append(f"crashed({summary.strip().splitlines()[-1][:80]})")
                    _log(stderr.decode())
            snap = emu.counters.snapshot()
        outputs = sorted((work / "out").rglob("*.wav"))
        whole = 0
        for path in outputs:
            with wave.open(str(path), "rb") as w:  # a truncated file has fewer frames than its header says
                whole += len(w.readframes(w.getnframes())) == w.getnframes() * w.getsampwidth() * w.getnchannels()
        return {
            "trial": n,
            "final": summary,
            "resume_runs": ",".join(endings),
            "uploads": snap["uploads_total"],
            "dup_uploads": sum(v - 1 for v in snap["uploads_by_label"].values()),
            "orders": snap["orders_total"],
            "dup_orders": sum(v - 1 for v in snap["orders_by_original"].values()),
            "outputs": len(outputs),
            "whole_outputs": whole,
            "partials": len(list((work / "out").rglob("*.part"))),
            "faults": snap["errors_injected"] + snap["resets_injected"],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    bad = 0
    started = time.monotonic()
    for n in range(1, args.trials + 1):
        result = await trial(n, args.files, args.kills, rng)
        ok = (
            str(result["final"]).startswith(f"SUMMARY completed {args.files} 0")
            and result["dup_uploads"] == result["dup_orders"] == result["partials"] == 0
            and result["uploads"] == result["orders"] == result["outputs"] == result["whole_outputs"] == args.files
        )
        bad += not ok
        print(("ok  " if ok else "BAD ") + " ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    print(f"{args.trials - bad}/{args.trials} trials kept the invariant ({time.monotonic() - started:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

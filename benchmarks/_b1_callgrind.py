"""B1 in instructions: ``python -m benchmarks._b1_callgrind [endpoint:concurrency ...]`` (needs valgrind).

CPU time per request swings by tens of percent on a shared machine; instruction counts do
not.  For each cell (default: the rich 25-voice page at 32 and one recording at 64) the
floor and the SDK each run in one process under ``valgrind --tool=callgrind`` against the
canned server (running natively, in its own process): 64 warm-up requests, then ``N``
more (``--n``, default 320).  Instructions per request are ``(I(N) - I(0)) / N``, so
start-up, imports and the warm-up cancel out.  About 5 minutes per cell.

Only user-space instructions are counted: both clients make the same system calls per
request (one ``sendto`` and one ``recvfrom``; checked with ``strace -c``), so the kernel's
share is the same for both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._callgrind import _instructions
from ._common import ROOT

DEFAULT_CELLS = ("voices_page_25_rich:32", "recording:64")
WARM_UP = 64


async def _drive(kind: str, endpoint: str, concurrency: int, n: int, base_url: str) -> None:
    from .b1_overhead import _drive_async, _floor_calls, _sdk_calls

    calls, close = await {"sdk": _sdk_calls, "floor": _floor_calls}[kind](base_url)
    await _drive_async(calls[endpoint], WARM_UP, concurrency)
    await _drive_async(calls[endpoint], n, concurrency)
    await close()


def _count(kind: str, endpoint: str, concurrency: int, n: int, base_url: str, tmp: Path) -> int:
    out = tmp / f"callgrind-{kind}-{endpoint}-{n}.out"
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "benchmarks._b1_callgrind",
        "--drive",
        kind,
        endpoint,
        str(concurrency),
        str(n),
        base_url,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} {endpoint} at {n} failed: {proc.stderr[-2000:]}")
    return _instructions(out)


def main(argv: list[str]) -> None:
    if argv[:1] == ["--drive"]:
        kind, endpoint, concurrency, n, base_url = argv[1:6]
        asyncio.run(_drive(kind, endpoint, int(concurrency), int(n), base_url))
        return
    from ._canned import CannedServer

    parser = argparse.ArgumentParser(prog="python -m benchmarks._b1_callgrind")
    parser.add_argument("cells", nargs="*", default=list(DEFAULT_CELLS), help="endpoint:concurrency")
    parser.add_argument("--n", type=int, default=320, help="requests counted per run (after the warm-up)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="voiceapi-b1-callgrind-"))
    try:
        with CannedServer() as server:
            for cell in args.cells:
                endpoint, concurrency = cell.split(":")
                per_request = {}
                for kind in ("floor", "sdk"):
                    low = _count(kind, endpoint, int(concurrency), 0, server.base_url, tmp)
                    high = _count(kind, endpoint, int(concurrency), args.n, server.base_url, tmp)
                    per_request[kind] = (high - low) / args.n
                ratio = per_request["sdk"] / per_request["floor"]
                print(
                    f"{endpoint} c={concurrency}: floor {per_request['floor']:,.0f}, SDK {per_request['sdk']:,.0f}"
                    f" instructions per request; SDK / floor {ratio:.3f}",
                    flush=True,
                )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])

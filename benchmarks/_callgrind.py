"""B6 in instructions: ``python -m benchmarks._callgrind [N1 N2]`` (needs valgrind; about 15 minutes).

Runs the raw pipeline and the job under ``valgrind --tool=callgrind`` at ``N1`` and ``N2``
tiny files (default 100 and 400) against one emulator process (not under valgrind), and
prints instructions per file, ``(I(N2) - I(N1)) / (N2 - N1)``: start-up and imports cancel
out, and the count does not depend on what else the machine is doing, unlike CPU time.
Every run writes into directories of its own under the scratch root, removed at the end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ._batch import job_spec, voice_ids, write_tiny_wavs
from ._common import ROOT, scratch_dir
from ._emuproc import EmulatorProcess
from .b6_pipeline import CONCURRENCY, JOB, _emulator_config


def _instructions(callgrind_out: Path) -> int:
    for line in callgrind_out.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {callgrind_out}")


def _count(kind: str, n: int, emu: EmulatorProcess, inputs: Path) -> int:
    output = scratch_dir(f"callgrind-out-{kind}-{n}")
    if kind == "job":
        spec = job_spec(emu, inputs, output, 1, job=JOB)
    else:
        spec = {"base_url": emu.base_url, "api_key": emu.api_key, "inputs": str(inputs), "output": str(output)}
        spec.update(voice_id=voice_ids(emu, 1)[0], concurrency=CONCURRENCY)
    module = "benchmarks._batch" if kind == "job" else "benchmarks._rawpipe"
    out = scratch_dir(f"callgrind-dump-{kind}-{n}") / "callgrind.out"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m", module]
    proc = subprocess.run([*command, json.dumps(spec)], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} at {n} files failed: {proc.stderr[-2000:]}")
    return _instructions(out)


def main() -> None:
    n1, n2 = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (100, 400)
    inputs = {n: scratch_dir(f"callgrind-in-{n}") for n in (n1, n2)}
    for n, directory in inputs.items():
        write_tiny_wavs(directory, n)
    per_file = {}
    with EmulatorProcess(_emulator_config()) as emu:
        for kind in ("raw", "job"):
            low, high = _count(kind, n1, emu, inputs[n1]), _count(kind, n2, emu, inputs[n2])
            per_file[kind] = (high - low) / (n2 - n1)
            print(f"{kind}: {per_file[kind] / 1e6:.2f} M instructions per file ({low:,} at {n1}, {high:,} at {n2})")
    print(f"job / raw: {per_file['job'] / per_file['raw']:.2f}")


if __name__ == "__main__":
    main()

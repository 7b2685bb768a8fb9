"""A convert job's input discovery alone: ``python -m benchmarks._discovery [--files N] [--runs R] [--callgrind] [--explicit]``.

Times the two blocking steps the job runs in worker threads before anything is sent:
walking a directory of ``N`` tiny WAVs (``iter_source_batches``: globs, keys, relative
paths) and validating them (``BatchConvertJob._validate``: ``probe_audio``, labels, the
journal's ``NewItem``); with ``--explicit`` the job is given every file by name, as a
shell glob (``convert in/*/*.wav``) gives them, instead of the folder.  Prints CPU
microseconds per file of each (``time.process_time``, ``R`` runs: noisy, the VM's
neighbours move it by +-25%), and with ``--callgrind``
instructions per file under ``valgrind --tool=callgrind``: ``(I(3 passes) - I(1 pass)) /
(2 N)``, so start-up, imports and first-use costs cancel out.

The inputs are written once and kept (``<scratch root>/discovery-in-<N>``, see
``benchmarks/README.md``): timing a walk never pays for creating its files, and files
are never deleted and re-made there (ext4's ``recently_deleted`` scans).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._batch import write_tiny_wavs
from ._callgrind import _instructions
from ._common import ROOT, scratch_dir, scratch_root


def tiny_wavs(files: int, directory: Path | None = None) -> Path:
    """A directory of ``files`` tiny WAVs, written on first use and kept."""
    directory = directory or scratch_root() / f"discovery-in-{files}"
    done = directory / ".complete"  # hidden: discovery skips it
    if not done.exists():
        write_tiny_wavs(directory, files)
        done.touch()
    return directory


def _job(output: Path) -> Any:
    from voiceapi_async import VoiceClient
    from voiceapi_async.jobs import BatchConvertJob

    client = VoiceClient(api_key="x" * 32, base_url="http://127.0.0.1:9")  # never used: nothing is sent
    job = BatchConvertJob(client, output, ["Alice"], output)
    job.job_id = "0" * 32
    return job


def one_pass(inputs: Any, job: Any) -> tuple[float, float, int]:
    """CPU seconds of the walk and of the validation of every file found, and the number of files."""
    from voiceapi_async.jobs._sources import iter_source_batches

    skip = job.output_dir.resolve()

    async def walk() -> list[Any]:
        return [s async for batch in iter_source_batches(inputs, skip_dir=skip) for s in batch]

    cpu0 = time.process_time()
    sources = asyncio.run(walk())
    cpu1 = time.process_time()
    items = [item for start in range(0, len(sources), 256) for item in job._validate(sources[start : start + 256])]
    cpu2 = time.process_time()
    assert len(items) == len(sources) and not any(i.error for i in items), "every tiny WAV is valid"
    return cpu1 - cpu0, cpu2 - cpu1, len(sources)


def _under_callgrind(files: int, directory: Path, passes: int, validate: bool, explicit: bool) -> int:
    out = scratch_dir(f"discovery-callgrind-{passes}-{int(validate)}") / "callgrind.out"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m"]
    command += ["benchmarks._discovery", "--files", str(files), "--dir", str(directory), "--runs", str(passes)]
    command += ["--quiet", *([] if validate else ["--walk-only"]), *(["--explicit"] if explicit else [])]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"callgrind run failed: {proc.stderr[-2000:]}")
    return _instructions(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._discovery")
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="where the inputs are (written once, kept)")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions per file (valgrind)")
    parser.add_argument(
        "--explicit", action="store_true", help="name every file (as a shell glob does), not the folder"
    )
    parser.add_argument("--walk-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    directory = tiny_wavs(args.files, args.dir)
    output = directory.parent / f"{directory.name}-out"  # never made: nothing is written (a scratch
    job = _job(output)  # session would make files, whose cost under valgrind varies from run to run)
    named = sorted(str(p) for p in directory.glob("*/*.wav")) if args.explicit else None
    inputs: Any = named if named is not None else directory
    walks, checks = [], []
    for _ in range(args.runs):
        if args.walk_only:
            from voiceapi_async.jobs._sources import iter_source_batches

            async def walk_only() -> None:
                async for _batch in iter_source_batches(inputs, skip_dir=output.resolve()):
                    pass

            asyncio.run(walk_only())
            continue
        walk_s, check_s, found = one_pass(inputs, job)
        assert found == args.files, f"{directory} holds {found} inputs, not {args.files}"
        walks.append(walk_s / found * 1e6)
        checks.append(check_s / found * 1e6)
    if args.quiet:
        return
    result: dict[str, Any] = {
        "files": args.files,
        "inputs": "each file named" if args.explicit else "the folder",
        "walk_us_per_file": {"median": round(statistics.median(walks), 1), "runs": [round(w, 1) for w in walks]},
        "validate_us_per_file": {"median": round(statistics.median(checks), 1), "runs": [round(c, 1) for c in checks]},
    }
    if args.callgrind:
        walks_i = {p: _under_callgrind(args.files, directory, p, False, args.explicit) for p in (1, 3)}
        both = {p: _under_callgrind(args.files, directory, p, True, args.explicit) for p in (1, 3)}
        walk_i = (walks_i[3] - walks_i[1]) / (2 * args.files)
        both_i = (both[3] - both[1]) / (2 * args.files)
        result["instructions_per_file"] = {
            "walk": round(walk_i),
            "validate": round(both_i - walk_i),
            "total": round(both_i),
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

"""B6's per-file SDK calls without the job: ``python -m benchmarks._sdk_io [--files N] [--callgrind]``.

What the orchestrator's three calls per file cost in the SDK itself, below ``jobs/``:
``recordings.create(folder, path)`` of a tiny WAV (the multipart upload and its one
thread hop), ``orders.create`` (one voice), then, once every conversion is done,
``recordings.download(url, path)`` (read, then write + fsync + rename in one hop).
16 workers, against one emulator process (B6's configuration: delays 0, limits off).

Without ``--callgrind``: CPU ms per file (user + system, all threads) of the upload and
order phase and of the download phase, in a process pinned to the client core.  With
``--callgrind``: the same run under ``valgrind --tool=callgrind`` at ``N1`` and ``N2``
files (``--files N1,N2``, default 100,400), instructions per file
``(I(N2) - I(N1)) / (N2 - N1)`` (start-up cancels out; user space only: the kernel's
share of a thread hop or an fsync is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._batch import voice_ids, write_tiny_wavs
from ._common import ROOT, cpu_seconds, pin, scratch_dir

WORKERS = 16


async def _calls(spec: dict[str, Any], inputs: list[Path], output: Path) -> dict[str, float]:
    from voiceapi_async import ConversionTarget, RateLimits, VoiceClient

    limits = RateLimits.disabled(max_in_flight=256)
    async with VoiceClient(api_key=spec["api_key"], base_url=spec["base_url"], rate_limits=limits) as client:
        project = await client.projects.create("bench sdk io")
        folder = (await client.folders.create(project.id, "io")).id
        target = [ConversionTarget(voice_id=spec["voice_id"])]
        conversions: list[str] = []

        async def upload_and_order(path: Path) -> None:
            original = await client.recordings.create(folder, path, label=path.stem, filename=path.name)
            [order] = await client.orders.create(original.id, target)
            conversions.append(order.conversion_id)

        async def workers(queue: list[Any], one: Any) -> float:
            async def worker() -> None:
                while queue:
                    await one(queue.pop())

            cpu0 = cpu_seconds()
            await asyncio.gather(*(worker() for _ in range(WORKERS)))
            return cpu_seconds() - cpu0

        upload_cpu = await workers(list(inputs), upload_and_order)
        done: dict[str, Any] = {}  # not measured: one list call per 200 recordings until all are done
        while len(done) < len(conversions):
            async for recording in client.recordings.list(folder_id=folder, limit=200):
                if recording.state == "done" and recording.original_id:
                    done[recording.id] = recording
            await asyncio.sleep(0.02)
        ready = [done[c] for c in conversions]

        async def download(recording: Any) -> None:
            await client.recordings.download(recording.url, output / f"{recording.id}.wav")

        download_cpu = await workers(ready, download)
    return {"files": len(inputs), "upload_cpu": upload_cpu, "download_cpu": download_cpu}


def _run(spec: dict[str, Any], callgrind_out: Path | None) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks._sdk_io", "--child", json.dumps(spec)]
    if callgrind_out is not None:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={callgrind_out}", *command]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the SDK I/O run failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _instructions(callgrind_out: Path) -> int:
    for line in callgrind_out.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {callgrind_out}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._sdk_io", description=__doc__.split("\n")[0])
    parser.add_argument("--files", default=None, help="N (CPU), or N1,N2 with --callgrind (default 1000; 100,400)")
    parser.add_argument("--callgrind", action="store_true", help="count instructions (valgrind)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        pin("client")
        spec = json.loads(args.child)
        output = Path(spec["output"])
        output.mkdir(parents=True, exist_ok=True)
        inputs = sorted(Path(spec["inputs"]).rglob("*.wav"))
        print(json.dumps(asyncio.run(_calls(spec, inputs, output))))
        return

    from ._emuproc import EmulatorProcess
    from .b6_pipeline import _emulator_config

    sizes = [int(n) for n in (args.files or ("100,400" if args.callgrind else "1000")).split(",")]
    with EmulatorProcess(_emulator_config()) as emu:  # every directory below is fresh, removed at exit
        counts = []
        for n in sizes:
            inputs, output = scratch_dir(f"sdk-io-in-{n}"), scratch_dir(f"sdk-io-out-{n}")
            write_tiny_wavs(inputs, n)
            spec = {"base_url": emu.base_url, "api_key": emu.api_key, "voice_id": voice_ids(emu, 1)[0]}
            spec.update(inputs=str(inputs), output=str(output))
            out = scratch_dir(f"sdk-io-callgrind-{n}") / "callgrind.out" if args.callgrind else None
            t0 = time.monotonic()
            result = _run(spec, out)
            if out is not None:
                counts.append(_instructions(out))
                print(f"{n} files: {counts[-1]:,} instructions ({time.monotonic() - t0:.0f} s)")
            else:
                per_file = {k: result[k] / n * 1000 for k in ("upload_cpu", "download_cpu")}
                print(
                    f"{n} files: upload + order {per_file['upload_cpu']:.3f} ms CPU per file,"
                    f" download {per_file['download_cpu']:.3f} ms"
                )
        if args.callgrind and len(counts) == 2:
            per_file_instructions = (counts[1] - counts[0]) / (sizes[1] - sizes[0])
            print(f"SDK upload + order + download: {per_file_instructions / 1e6:.3f} M instructions per file")


if __name__ == "__main__":
    main()

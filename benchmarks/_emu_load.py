"""The emulator's own cost per file on B6's path, in CPU and in instructions.

``python -m benchmarks._emu_load [--files N] [--warmup W] [--callgrind]`` starts the
emulator in a process of its own (B6's configuration: delays 0, rate limits off; under
``valgrind --tool=callgrind`` with ``--callgrind``), then replays B6's per-file requests
with the SDK, from this process, in rounds of 16 files: 16 uploads each followed by its
order, one bulk ``GET /api/recordings`` page of the round's 32 recordings (ascending from
the round's first, as the job's poller reads the project), and 16 downloads of the
conversions.  After ``W`` warm-up files it reads the emulator's CPU time (or has
callgrind dump its counts), runs ``N`` more files and reads again: emulator CPU ms and
instructions per file.  Instructions do not depend on what else runs on the machine.

This is a fixed replay, not the job: B6's bulk poller reads about one page per ten
files, whose size depends on timing; here one page per 16 files, always 32 recordings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._batch import write_tiny_wavs
from ._common import ROOT, pin, proc_cpu_seconds, scratch_dir, scratch_root

ROUND = 16


def _serve(data_dir: str, cprofile: str | None = None) -> None:
    """Child: the emulator with B6's configuration; prints its URL and key, serves until SIGTERM.

    With ``cprofile``, SIGUSR1 starts cProfile (on ``time.thread_time``: CPU, not wall) and
    SIGUSR2 stops it and writes its stats there.
    """
    import dataclasses

    from voiceapi_async.emulator import Emulator

    from .b6_pipeline import _emulator_config

    pin("server")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    if cprofile:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

        def stop(*_: object) -> None:
            profiler.disable()
            profiler.dump_stats(cprofile)

        signal.signal(signal.SIGUSR2, stop)

    async def main() -> None:
        async with Emulator(dataclasses.replace(_emulator_config(), data_dir=data_dir)) as emu:
            print(json.dumps([emu.base_url, emu.api_key]), flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())


async def _drive(base_url: str, api_key: str, inputs: list[Path], out: Path, marks: list[int], mark: Any) -> None:
    from voiceapi_async import RateLimits, VoiceClient
    from voiceapi_async.types import ConversionTarget

    async with VoiceClient(api_key=api_key, base_url=base_url, rate_limits=RateLimits.disabled()) as client:
        voice = (await client.voices.list(limit=1)).list[0].id
        project = await client.projects.create("emulator load")
        folder = await client.folders.create(project.id, "load")
        done = 0

        async def one(path: Path) -> None:
            original = await client.recordings.create(folder.id, str(path), label=path.stem)
            await client.orders.create(original.id, [ConversionTarget(voice_id=voice)])

        for start in range(0, len(inputs), ROUND):
            if start in marks:
                mark()
            batch = inputs[start : start + ROUND]
            await asyncio.gather(*(one(p) for p in batch))
            page = await client.recordings.list(project_id=project.id, limit=200, offset=2 * done, direction="asc")
            converted = [r for r in page.list if r.original_id is not None]
            if len(converted) != len(batch) or any(r.state != "done" for r in converted):
                raise RuntimeError(f"round at {start}: {len(converted)} conversions listed for {len(batch)} files")
            await asyncio.gather(*(client.recordings.download(r, out) for r in converted))
            done += len(batch)
        mark()


def _dumped_instructions(out_prefix: str, before: set[str]) -> int:
    """The instruction count of the newest callgrind dump (written by ``callgrind_control -d``)."""
    for _ in range(600):
        new = sorted(set(Path(out_prefix).parent.glob(Path(out_prefix).name + "*")) - {Path(p) for p in before})
        for path in new:
            for line in path.read_text(errors="replace").splitlines():
                if line.startswith(("totals:", "summary:")):
                    return int(line.split()[1])
        time.sleep(0.5)
    raise RuntimeError("callgrind did not dump")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._emu_load", description=__doc__)
    parser.add_argument("--files", type=int, default=1024, help="files measured (a multiple of 16)")
    parser.add_argument("--warmup", type=int, default=128, help="files sent before measuring")
    parser.add_argument("--callgrind", action="store_true", help="count the emulator's instructions (valgrind)")
    parser.add_argument("--py-spy", metavar="FILE", help="sample the emulator with py-spy into FILE (collapsed stacks)")
    parser.add_argument("--cprofile", metavar="FILE", help="profile the emulator's measured part (cProfile stats)")
    parser.add_argument("--keep", action="store_true", help="keep the working directory (callgrind's dumps)")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.serve, args.cprofile)
        return
    pin("client")
    if args.keep:  # outside this process's scratch session, which is removed when it exits
        scratch_root().mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="emu-load-kept-", dir=scratch_root()))
    else:
        tmp = scratch_dir("emu-load")
    outfile = str(tmp / "callgrind.out")
    command = [sys.executable, "-m", "benchmarks._emu_load", "--serve", str(tmp / "data")]
    if args.cprofile:
        command += ["--cprofile", os.path.abspath(args.cprofile)]
    if args.callgrind:
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={outfile}", *command]
    elif args.py_spy:
        command = ["py-spy", "record", "-r", "1000", "-f", "raw", "-o", args.py_spy, "--", *command]
    (tmp / "data").mkdir()
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        while not line.startswith("["):  # py-spy may say something first
            line = server.stdout.readline()
        base_url, api_key = json.loads(line)
        write_tiny_wavs(tmp / "in", args.warmup + args.files)
        inputs = sorted((tmp / "in").rglob("*.wav"))
        (tmp / "out").mkdir()
        readings: list[tuple[float, int]] = []

        def mark() -> None:
            instructions = 0
            if args.callgrind:
                before = {str(p) for p in tmp.glob("callgrind.out*")}
                subprocess.run(["callgrind_control", "-d", str(server.pid)], capture_output=True, check=True)
                instructions = _dumped_instructions(outfile, before)
            readings.append((proc_cpu_seconds(server.pid), instructions))
            if args.cprofile:
                server.send_signal(signal.SIGUSR1 if len(readings) == 1 else signal.SIGUSR2)

        asyncio.run(_drive(base_url, api_key, inputs, tmp / "out", [args.warmup], mark))
        (cpu0, _), (cpu1, instr) = readings
        result = {
            "files": args.files,
            "emulator_cpu_ms_per_file": (cpu1 - cpu0) / args.files * 1000,
            "instructions_per_file": instr / args.files if args.callgrind else None,
            "loadavg": os.getloadavg()[0],
            "kept": str(tmp) if args.keep else None,
        }
        print(json.dumps(result))
        if args.cprofile:
            for _ in range(100):
                if os.path.exists(args.cprofile):
                    break
                time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGINT if args.py_spy else signal.SIGTERM)
        server.wait(30)


if __name__ == "__main__":
    main()

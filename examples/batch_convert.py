"""Convert a directory of recordings into two voices with ``BatchConvertJob``, with a progress line.

    python examples/batch_convert.py recordings/ out/ --voice Aurora --voice "Basil Stone"
    python examples/batch_convert.py --emulator out/    # no account: bundled samples, in-process emulator

The job plans first (files, seconds of audio, charge against the credits), then uploads
each file once, places one order per file carrying both voices, polls the whole batch in
bulk and downloads every result once.  Interrupt it and run it again: the journal in the
output directory makes it resume where it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.resources
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator, EmulatorConfig, RateLimitConfig
from voiceapi_async.jobs import BatchConvertJob, JobSummary, Progress, Target


class ProgressLine:
    """An ``on_progress`` callback printing at most one line a second (callbacks come on every step)."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.printed = 0.0
        self.calls = 0

    def __call__(self, p: Progress) -> None:
        self.calls += 1
        now = time.monotonic()
        if now - self.printed >= self.every or p.done + p.failed == p.total:
            self.printed = now
            eta = "?" if p.eta is None else f"{p.eta:.0f}s"
            print(
                f"  {p.done}/{p.total} done, {p.failed} failed, {p.rate:.1f} files/s, ETA {eta}, {p.requests} requests"
            )


async def convert(
    inputs: str | Path,
    output_dir: str | Path,
    voices: Sequence[str],
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    **job_options: Any,
) -> JobSummary:
    """Convert every audio file under ``inputs`` into the first two ``voices`` (the second one 2 semitones down)."""
    targets = [Target(voices[0]), Target(voices[1], semitones_correction=-2)]
    async with VoiceClient(api_key=api_key, base_url=base_url) as client:
        job = BatchConvertJob(client, inputs, targets, output_dir, **job_options)
        plan = await job.plan()
        print(
            f"{plan.items} files ({plan.invalid} invalid), {plan.total_duration:.1f} s of audio, "
            f"about {plan.estimated_charge:.1f} s of credits (the account has {plan.credits})"
        )
        summary = await job.run_to_completion(on_progress=ProgressLine())
    print(f"{summary.status.value}: {summary.done} done, {summary.failed} failed in {summary.duration:.1f} s")
    print(f"{summary.requests} requests ({summary.rate_limited} answered 429); journal: {summary.journal_path}")
    for failure in summary.failures:
        print(f"  failed {failure.name} at {failure.stage}: {failure.reason}")
    for path in summary.output_files:
        print(f"  {path}")
    return summary


async def convert_with_emulator(output_dir: str | Path, **job_options: Any) -> JobSummary:
    """The bundled sample library against an in-process emulator: no account, no network."""
    config = EmulatorConfig(original_delay=0.1, conversion_delay=(0.2, 0.5), rate_limits=RateLimitConfig.off())
    async with Emulator(config) as emu:
        voices = ["Aurora", "Basil Stone"]  # named voices: in every emulator, whatever its seed
        samples = importlib.resources.files("voiceapi_async") / "_samples"
        job_options.setdefault("poll_interval", 0.2)
        return await convert(
            str(samples), output_dir, voices, api_key=emu.api_key, base_url=emu.base_url, **job_options
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="?", help="a directory of audio files")
    parser.add_argument("output_dir", nargs="?", default="converted")
    parser.add_argument("--voice", action="append", default=[], help="a voice name or id (give two)")
    parser.add_argument("--emulator", action="store_true", help="use the bundled samples and a local emulator")
    args = parser.parse_args(argv)
    if args.emulator:
        output = args.inputs or args.output_dir  # `--emulator OUT` takes the one positional as the output
        summary = asyncio.run(convert_with_emulator(output))
    else:
        if not args.inputs or len(args.voice) != 2:
            parser.error("give an input directory and two --voice options (or --emulator)")
        summary = asyncio.run(convert(args.inputs, args.output_dir, args.voice))
    return 0 if summary.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

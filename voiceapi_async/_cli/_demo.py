"""``voiceapi-async demo`` (what ``make demo`` runs): the shipped samples converted into two voices, offline.

Starts the embedded emulator in-process with realistic-but-quick delays, rate limits
scaled down (the job adopts the account's limits and paces itself: no 429s) and a small
conversion error rate so a conversion retry may show too.  Every run starts fresh:
the emulator is new each time, so a previous demo's journal could not be resumed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .._client import VoiceClient
from ..emulator import NAMED_VOICES, Emulator, EmulatorConfig, RateLimitConfig, RateRule
from ..jobs import JOURNAL_NAME, BatchConvertJob, Target, read_journal
from . import EXIT_USAGE
from ._output import Output
from ._run import run_job

__all__ = ["DEMO_PROJECT", "add_demo_command", "demo_config"]

DEMO_PROJECT = "voiceapi-async demo"


def demo_config() -> EmulatorConfig:
    """~10 s for the 5 samples x 2 voices: originals 0.3 s, conversions 0.5-1.5 s, tight limits, 10 % errors."""
    return EmulatorConfig(
        seed=7,
        original_delay=0.3,
        conversion_delay=(0.5, 1.5),
        conversion_error_rate=0.1,
        rate_limits=RateLimitConfig(RateRule(20, 3.0), RateRule(3, 4.0), retry_after_precision="float"),
    )


def add_demo_command(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser(
        "demo", parents=[common], help="convert the bundled samples into two voices against the embedded emulator"
    )
    demo.add_argument("--out", type=Path, default=Path("demo-output"), metavar="DIR", help="default: ./demo-output")
    demo.set_defaults(runner=cmd_demo)


async def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    out_dir: Path = args.out
    if not _start_fresh(out_dir, out):
        return EXIT_USAGE
    async with Emulator(demo_config()) as emu, VoiceClient(api_key=emu.api_key, base_url=emu.base_url) as client:
        out.message(
            f"embedded emulator on {emu.base_url} (no account needed; its rate limits are scaled down "
            "and paced by the client; 10 % of conversions fail and are retried)"
        )
        first, second = NAMED_VOICES[:2]  # the voices the README uses, in every emulator
        targets = [Target(first), Target(second, semitones_correction=-2)]
        out.message(f"converting the sample library into {first!r} and {second!r} (-2 semitones)")
        with _samples() as samples:
            job = BatchConvertJob(
                client,
                samples,
                targets,
                out_dir,
                project=DEMO_PROJECT,
                upload_concurrency=2,
                poll_interval=0.5,
                max_poll_interval=1.5,
                retry_delay=0.5,
                max_conversion_retries=5,
            )
            code = await run_job(job, out, dry_run=False, report=None, as_json=args.json, options=vars(args))
    if not args.json:
        _show_outputs(out_dir, out)
    return code


def _start_fresh(out_dir: Path, out: Output) -> bool:
    """Remove a previous demo's journal, reports and results; refuse to touch another job's directory."""
    if not (out_dir / JOURNAL_NAME).exists():
        return True
    try:
        previous = read_journal(out_dir)
    except (OSError, ValueError) as exc:
        out.error(f"{out_dir} holds something that is not a demo journal ({exc}); pick another --out")
        return False
    if previous.project != DEMO_PROJECT:
        out.error(f"{out_dir} holds the journal of another job (project {previous.project!r}); pick another --out")
        return False
    for item in previous.items():
        for output in item.outputs:
            # The demo writes flat; a path may be relative to another cwd, so only its name is trusted.
            if output.path:
                (out_dir / Path(output.path).name).unlink(missing_ok=True)
    for name in (JOURNAL_NAME, f"{JOURNAL_NAME}-wal", f"{JOURNAL_NAME}-shm", "report.json", "report.csv"):
        (out_dir / name).unlink(missing_ok=True)
    out.message(
        f"starting fresh: replaced the previous demo's results in {out_dir} "
        "(the embedded emulator is new on every run, so there is nothing to resume)"
    )
    return True


@contextlib.contextmanager
def _samples() -> Iterator[Path]:
    """The bundled samples' directory (used in place; copied out only from a zipped install)."""
    root = importlib.resources.files("voiceapi_async") / "_samples"
    if isinstance(root, Path):
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="voiceapi-samples-") as tmp:  # pragma: no cover - zip imports
        for entry in root.iterdir():
            with importlib.resources.as_file(entry) as path:
                shutil.copy(path, Path(tmp) / entry.name)
        yield Path(tmp)


def _show_outputs(out_dir: Path, out: Output) -> None:
    journal = read_journal(out_dir)
    rows = [
        (Path(o.path).name, o.target, f"{(o.size or 0) / 1024:.0f} KB")
        for item in journal.items()
        for o in item.outputs
        if o.state == "downloaded" and o.path
    ]
    out.table(f"{len(rows)} converted files", ["file", "voice", "size"], rows)
    out.line(f"results: {out_dir.resolve()}")

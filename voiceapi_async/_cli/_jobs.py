"""Job commands: convert, tts, plan, status (and demo, in ``_demo``).

Each builds a ``BatchConvertJob``/``TTSJob`` from its flags; ``_run.run_job`` does the
rest (plan, progress, Ctrl-C, reports, exit code), so the commands stay declarative.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from .._client import VoiceClient
from ..jobs import (
    DEFAULT_INCLUDE,
    BatchConvertJob,
    JobConfigError,
    JournalMismatchError,
    JournalReport,
    Target,
    TTSJob,
    read_journal,
)
from ..jobs._pgstore import is_store_url
from . import EXIT_FAILED_ITEMS, EXIT_OK, EXIT_UNFINISHED, EXIT_USAGE
from ._demo import add_demo_command
from ._output import Output
from ._report import report_paths, show_failures, write_reports
from ._run import run_job, show_plan_result

__all__ = ["add_job_commands"]

T = TypeVar("T")


def add_job_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
    *,
    local: argparse.ArgumentParser,
    offline: argparse.ArgumentParser,
) -> None:
    """``common``: the options of commands that call the API; ``local`` (the demo's own
    emulator) and ``offline`` (``status``) leave out what would do nothing for them."""
    targets = argparse.ArgumentParser(add_help=False)
    group = targets.add_argument_group(
        "targets (--accent, --narration-style[-tags], --semitones: once for all voices or once per voice)"
    )
    group.add_argument("--voice", action="append", metavar="NAME_OR_ID", help="a voice to convert to (repeatable)")
    group.add_argument("--accent", action="append", metavar="NAME_OR_ID", help="the voice's accent to use")
    group.add_argument(
        "--narration-style", action="append", metavar="NAME_OR_ID", help="the voice's narration style to use"
    )
    group.add_argument(
        "--narration-style-tags",
        action="append",
        metavar="TAG[,TAG...]",
        help="TTS: pick the voice's narration style carrying all these tags (e.g. calm,audiobook) "
        "instead of naming it; an error lists each style's tags when none matches",
    )
    group.add_argument("--semitones", action="append", type=float, metavar="N", help="pitch correction")

    audio = argparse.ArgumentParser(add_help=False)
    audio.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or directories (walked recursively)")
    audio.add_argument("--include", action="append", metavar="GLOB", help=f"default: {' '.join(DEFAULT_INCLUDE)}")
    audio.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip matching files (repeatable)"
    )
    audio.add_argument("--mirror-tree", action="store_true", help="one server folder per input directory")

    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--project", default="voiceapi-async jobs", help="server project (found or created)")
    server.add_argument(
        "--folder", default=None, help="server folder (default: the --job-id, else the output directory's name)"
    )
    server.add_argument(
        "--journal",
        type=_journal_arg,
        default=None,
        metavar="PATH_OR_URL",
        help="the job's journal (default: DIR/.voiceapi-job.sqlite), or postgresql://... to share the job with "
        "other workers (needs --job-id and the postgres extra; each worker has its own --out)",
    )

    run = argparse.ArgumentParser(add_help=False, parents=[server])
    run.add_argument("--out", required=True, type=Path, metavar="DIR", help="results, journal and reports go here")
    run.add_argument("--concurrency", type=_count(1), default=4, metavar="N", help="uploads and downloads in flight")
    run.add_argument("--max-retries", type=_count(0), default=2, metavar="N", help="re-orders of a failed conversion")
    run.add_argument("--poll-interval", type=_seconds, default=1.0, metavar="SECONDS", help="first wait between polls")
    run.add_argument(
        "--dry-run", action="store_true", help="only plan: files, duration, cost and credits; upload or order nothing"
    )
    run.add_argument("--force", action="store_true", help="run even if the plan costs more than the credits")
    run.add_argument(
        "--retry-failed", action="store_true", help="try again the items that failed in earlier runs of this job"
    )
    run.add_argument(
        "--new-job", action="store_true", help="start over in DIR (the old journal is kept, renamed *.old)"
    )
    run.add_argument("--report", default=None, metavar="PATH", help="report.json or .csv (default: both in --out)")
    run.add_argument(
        "--job-id",
        default=None,
        metavar="NAME",
        help="name the job: if its journal is lost or it moves to another machine, the same command with the same "
        "--job-id rebuilds its state from the server instead of uploading and paying again (the folder defaults to NAME)",
    )

    convert = sub.add_parser(
        "convert", parents=[common, audio, targets, run], help="convert audio files to one or more voices"
    )
    convert.set_defaults(handler=cmd_convert)

    tts = sub.add_parser("tts", parents=[common, targets, run], help="speak texts (.txt, .csv, .jsonl), then convert")
    tts.add_argument("input", type=Path, metavar="INPUT", help=".txt (a text a line), .csv or .jsonl (a 'text' field)")
    tts.add_argument("--tts-voice", default=None, metavar="NAME_OR_ID", help="the TTS voice (default: the service's)")
    tts.add_argument("--language", default=None, help="the texts' language")
    tts.add_argument(
        "--keep-parts",
        action="store_true",
        help="also keep each part of a long text (<line>.<part>...) besides the joined file",
    )
    tts.set_defaults(handler=cmd_tts)

    plan = sub.add_parser(
        "plan", parents=[common, audio, targets, server], help="what a conversion would cost; exit 4 if unaffordable"
    )
    plan.add_argument("--out", type=Path, default=None, metavar="DIR", help="price what is left of the job in DIR")
    plan.set_defaults(handler=cmd_plan)

    status = sub.add_parser(
        "status",
        parents=[offline],
        help="a job's progress, failures and outputs (offline); exit 1 if items failed, 6 if unfinished",
    )
    status.add_argument(
        "journal", type=Path, metavar="JOURNAL_OR_OUT_DIR", help="the job's output directory or its journal file"
    )
    status.add_argument("--limit", type=int, default=20, metavar="N", help="failures and outputs listed (default 20)")
    status.add_argument("--report", default=None, metavar="PATH", help="also write a report (.json or .csv)")
    status.set_defaults(runner=cmd_status)

    add_demo_command(sub, local)


# -- building jobs from flags -----------------------------------------------------------------


def _per_voice(values: Sequence[T] | None, voices: int, flag: str) -> Sequence[T | None]:
    if not values:
        return [None] * voices
    if not voices:  # not silently dropped: it would apply to nothing
        raise JobConfigError(f"{flag} applies to the --voice targets: give at least one --voice")
    if len(values) == 1:
        return list(values) * voices
    if len(values) == voices:
        return list(values)
    raise JobConfigError(f"give {flag} once (for every voice) or once per --voice ({voices}), not {len(values)} times")


def targets_from(args: argparse.Namespace) -> list[Target]:
    voices: list[str] = args.voice or []
    columns = zip(
        voices,
        _per_voice(args.accent, len(voices), "--accent"),
        _per_voice(args.narration_style, len(voices), "--narration-style"),
        _per_voice(args.semitones, len(voices), "--semitones"),
        _per_voice(args.narration_style_tags, len(voices), "--narration-style-tags"),
        strict=True,
    )
    return [
        Target(v, accent=a, narration_style=s, semitones_correction=n, narration_style_tags=_tags(t))
        for v, a, s, n, t in columns
    ]


def _tags(text: str | None) -> tuple[str, ...] | None:
    """``calm,audiobook`` -> ``("calm", "audiobook")``."""
    if text is None:
        return None
    tags = tuple(t.strip() for t in text.split(",") if t.strip())
    if not tags:
        raise JobConfigError(f"--narration-style-tags needs at least one tag, got {text!r}")
    return tags


def _count(least: int) -> Callable[[str], int]:
    """An integer option of at least ``least``: argparse names the option when it is not (not the API's name)."""

    def parse(text: str) -> int:
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse's "invalid integer value" for non-numbers
    return parse


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def _journal_arg(text: str) -> Path | str:
    """A path to a SQLite journal, or (kept as text) a PostgreSQL URL."""
    return text if is_store_url(text) else Path(text)


def _job_options(args: argparse.Namespace) -> dict[str, Any]:
    if isinstance(args.journal, str) and args.job_id is None:
        raise JobConfigError("a job shared on PostgreSQL (--journal postgresql://...) needs --job-id NAME to name it")
    return {
        "project": args.project,
        "folder": args.folder,
        "journal": args.journal,
        "new_job": args.new_job,
        "upload_concurrency": args.concurrency,
        "download_concurrency": args.concurrency,
        "max_conversion_retries": args.max_retries,
        "force": args.force,
        "retry_failed": args.retry_failed,
        "poll_interval": args.poll_interval,
        "max_poll_interval": max(30.0, args.poll_interval),
        "job_id": args.job_id,
    }


def _audio_options(args: argparse.Namespace) -> dict[str, Any]:
    missing = [p for p in args.inputs if not Path(p).exists()]
    if missing:
        raise JobConfigError(f"no such file or directory: {', '.join(missing)}")
    if not args.voice:
        raise JobConfigError("give at least one --voice")
    return {"include": args.include or DEFAULT_INCLUDE, "exclude": args.exclude, "mirror_tree": args.mirror_tree}


@contextlib.contextmanager
def _fixes_named_as_flags(command: str) -> Iterator[None]:
    """A journal of another job: say how to fix it with the options this command takes.

    The library's message names API parameters (``new_job``, ``journal_path``); ``plan``
    takes neither ``--new-job`` nor ``--job-id``, so each command gets its own advice.
    """
    try:
        yield
    except JournalMismatchError as exc:
        if exc.differences is None:  # another --job-id's journal (plan takes no --job-id: run commands only)
            fix = "give that job's --job-id, or another --out DIR or --journal PATH for this one"
            raise JobConfigError(f"{exc} — {fix}") from exc
        if command == "plan":
            fix = (
                "To price what is left of that job, give plan its options; to price these inputs alone,"
                " leave out --out and --journal, or give another --out DIR or --journal PATH."
            )
        else:
            fix = (
                "To resume that job, run it with its own options; to start a new job here, pass --new-job"
                " (the old journal is kept, renamed); to keep both, give this job another --out DIR or"
                " --journal PATH."
            )
        raise JobConfigError(f"{exc.journal_path} is the journal of another job ({exc.differences}). {fix}") from exc


# -- the commands ------------------------------------------------------------------------------


async def cmd_convert(client: VoiceClient, args: argparse.Namespace, out: Output) -> int:
    job = BatchConvertJob(
        client, args.inputs, targets_from(args), args.out, **_audio_options(args), **_job_options(args)
    )
    with _fixes_named_as_flags("convert"):
        return await run_job(job, out, dry_run=args.dry_run, report=args.report, as_json=args.json, options=vars(args))


async def cmd_tts(client: VoiceClient, args: argparse.Namespace, out: Output) -> int:
    if not args.input.is_file():
        raise JobConfigError(f"no such file: {args.input}")
    job = TTSJob(
        client,
        args.input,
        args.out,
        targets=targets_from(args),
        tts_voice=args.tts_voice,
        language=args.language,
        keep_parts=args.keep_parts,
        **_job_options(args),
    )
    with _fixes_named_as_flags("tts"):
        return await run_job(job, out, dry_run=args.dry_run, report=args.report, as_json=args.json, options=vars(args))


async def cmd_plan(client: VoiceClient, args: argparse.Namespace, out: Output) -> int:
    """Price the inputs (with --out or --journal: what is left of that job); nothing is written anywhere."""
    options = _audio_options(args)
    if isinstance(args.journal, str):
        raise JobConfigError("plan prices inputs against a local journal; a shared job store is priced by its run")
    if args.out is None and args.journal is None:
        scratch = tempfile.TemporaryDirectory(prefix="voiceapi-plan-")  # only names the folder; stays empty
        output_dir = Path(scratch.name)
    else:
        scratch, output_dir = None, args.out or args.journal.parent
    try:
        job = BatchConvertJob(
            client,
            args.inputs,
            targets_from(args),
            output_dir,
            project=args.project,
            folder=args.folder,
            journal_path=args.journal,
            **options,
        )
        with _fixes_named_as_flags("plan"):
            plan = await job.plan()
    finally:
        if scratch is not None:
            scratch.cleanup()
    return show_plan_result(plan, out, as_json=args.json, can_force=False)


async def cmd_status(args: argparse.Namespace, out: Output) -> int:
    """Read the journal offline (no API call, no key needed)."""
    try:
        journal = read_journal(args.journal)
    except (OSError, ValueError) as exc:
        out.error(str(exc))
        return EXIT_USAGE
    failures = journal.failures(args.limit)
    reports = write_reports(journal, report_paths(args.report, journal.path.parent)) if args.report else []
    if args.json:
        result = {
            "journal": str(journal.path),
            "kind": journal.kind,
            "status": journal.status,
            "total": journal.total,
            "counts": journal.counts,
            "outputs": journal.outputs,
            "failed": journal.failed,
            "failures": failures,
            "output_files": _output_files(journal, args.limit),
            "reports": [str(p) for p in reports],
        }
        out.line(msgspec.json.encode(result).decode())
        return _status_exit_code(journal)
    out.fields(
        f"job ({journal.kind or 'unknown'}) — {journal.status}",
        [
            ("journal", journal.path),
            ("project / folder", f"{journal.project} / {journal.folder}"),
            ("targets", ", ".join(journal.targets) or "-"),
            ("items", journal.total),
            *((f"  {stage}", n) for stage, n in sorted(journal.counts.items())),
            ("files downloaded", journal.outputs.get("downloaded", 0)),
            *((f"report ({p.suffix[1:]})", p) for p in reports),
        ],
    )
    if failures:
        show_failures(out, [(f.name, f.stage, f.reason) for f in failures], journal.failed)
    files = _output_files(journal, args.limit)
    if files:
        more = journal.outputs.get("downloaded", 0) - len(files)
        out.table(f"outputs{f' (first {len(files)})' if more > 0 else ''}", ["file", "target", "bytes"], files)
    if journal.status == "incomplete":
        out.message(f"{journal.unfinished} items unfinished: run the job's command again to resume")
    return _status_exit_code(journal)


def _status_exit_code(journal: JournalReport) -> int:
    """0 complete, 1 finished with failed items, 6 unfinished: a script can wait on ``status``."""
    if journal.status == "incomplete":
        return EXIT_UNFINISHED
    return EXIT_FAILED_ITEMS if journal.failed else EXIT_OK


def _output_files(journal: JournalReport, limit: int) -> list[tuple[str, str, int | None]]:
    files: list[tuple[str, str, int | None]] = []
    listed: set[tuple[str, str]] = set()
    for item in journal.items():
        for o in item.outputs:
            if o.state == "downloaded" and o.path and (o.path, o.target) not in listed:  # parts share a joined file
                listed.add((o.path, o.target))
                files.append((o.path, o.target, o.size))
                if len(files) >= limit:
                    return files
    return files

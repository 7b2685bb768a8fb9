"""Running a job from the command line: plan, live progress, Ctrl-C, reports, summary and the exit code."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import msgspec

from .._errors import AuthenticationError, RateLimitStoreError
from ..jobs import BaseJob, CostGuardError, JobPlan, JobStatus, JobStoppedError, JobSummary, TTSJob, read_journal
from . import EXIT_AUTH, EXIT_CREDITS, EXIT_FAILED_ITEMS, EXIT_INTERRUPTED, EXIT_NETWORK, EXIT_OK, EXIT_USAGE
from ._output import Output
from ._progress import ProgressView
from ._report import report_paths, show_plan, show_summary, write_reports, write_shared_reports

__all__ = ["run_job", "show_plan_result"]

RESUME_HINT = "the journal is consistent: run the same command again to resume"


def show_plan_result(plan: JobPlan, out: Output, *, as_json: bool, force: bool = False, can_force: bool = True) -> int:
    """Print a plan (table or JSON); exit 4 when the credits cannot pay for it (unless forced).

    ``can_force``: whether the command printing it takes ``--force`` (``plan`` does not).
    """
    if as_json:
        out.line(msgspec.json.encode(plan).decode())
    else:
        show_plan(plan, out)
    if plan.affordable or force:
        return EXIT_OK
    out.error(
        f"this job would charge about {plan.remaining_charge:.1f} s but the account has {plan.credits or 0:.1f} s"
        " of credits; nothing was spent (top up or narrow the inputs"
        + (", or pass --force to run anyway)" if can_force else ")")
    )
    return EXIT_CREDITS


async def run_job(
    job: BaseJob,
    out: Output,
    *,
    dry_run: bool,
    report: str | None,
    as_json: bool,
    options: Collection[str] | None = None,
) -> int:
    """Plan (``dry_run``: only that), then run with progress; reports and a summary are written even when stopped.

    ``options``: the command's options (argparse ``dest`` names, ``None``: those of ``convert``),
    so that advice names only options the command takes (``demo`` takes no ``--force``).
    """

    def takes(option: str) -> bool:
        return options is None or option in options

    try:
        paths = report_paths(report, job.output_dir)
    except ValueError as exc:
        out.error(str(exc))
        return EXIT_USAGE
    plan = await job.plan()
    if plan.items == 0:
        if isinstance(job, TTSJob):
            where = "check the file's texts"
        else:
            where = "check the path and --include/--exclude" if takes("include") else "check the inputs"
        out.error(f"nothing to do: no inputs found ({where})")
        return EXIT_USAGE
    if dry_run or not (plan.affordable or job.force):
        return show_plan_result(plan, out, as_json=as_json, force=job.force, can_force=takes("force"))
    out.message(
        f"{plan.items} items ({plan.invalid} invalid), {plan.total_duration:.1f} s of audio, "
        f"{plan.conversions_per_item} conversions each: about {plan.remaining_charge:.1f} s to pay"
        + ("" if plan.credits is None else f" of {plan.credits:.1f} s of credits")
    )
    view = ProgressView(
        out,
        created="synthesized" if isinstance(job, TTSJob) else "uploaded",
        files=(plan.items - plan.invalid) * max(1, plan.conversions_per_item),
        files_before=0 if not job.resumes else read_journal(job.journal_path).outputs.get("downloaded", 0),
    )
    stopped: JobStoppedError | None = None
    with view:
        task = asyncio.create_task(_consume(job, view))
        with _cancel_on_sigint(task, view.note):
            try:
                await task
            except asyncio.CancelledError:
                pass
            except JobStoppedError as exc:
                stopped = exc
            except CostGuardError as exc:  # the credits went down between the plan and the run
                return show_plan_result(exc.plan, out, as_json=as_json, can_force=takes("force"))
    summary = job.summary
    assert summary is not None
    if job.store_url is not None:  # a job shared on PostgreSQL: where each worker put each output
        written = write_shared_reports(await job.output_locations(), paths, summary)
    else:
        # No journal: the run stopped before it started (e.g. a 401 while checking), nothing to report on.
        written = write_reports(read_journal(job.journal_path), paths, summary) if job.journal_path.is_file() else []
    _show_result(summary, out, job.output_dir, written, as_json)
    return _exit_code(summary, stopped, out, key_flag=takes("api_key"))


async def _consume(job: BaseJob, view: ProgressView) -> None:
    async with contextlib.aclosing(job.run(on_progress=view.on_progress)) as events:
        async for event in events:
            view.on_event(event)


@contextlib.contextmanager
def _cancel_on_sigint(task: asyncio.Task[None], note: Callable[[str], None]) -> Iterator[None]:
    """Ctrl-C cancels the job's task (it finishes the requests in flight and closes the journal); twice forces."""
    loop = asyncio.get_running_loop()

    def interrupt() -> None:
        # Not yet "interrupted": that line comes once, when the run has stopped (or at a second Ctrl-C).
        note("stopping: finishing the requests in flight and saving the journal (Ctrl-C again to quit at once)")
        loop.remove_signal_handler(signal.SIGINT)
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, interrupt)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _show_result(summary: JobSummary, out: Output, output_dir: Path, reports: list[Path], as_json: bool) -> None:
    if as_json:
        result = {"summary": msgspec.to_builtins(summary), "reports": [str(p) for p in reports]}
        out.line(msgspec.json.encode(result).decode())
    else:
        show_summary(summary, out, output_dir=output_dir, reports=reports)


def _exit_code(summary: JobSummary, stopped: JobStoppedError | None, out: Output, *, key_flag: bool = True) -> int:
    if stopped is not None:
        auth = isinstance(stopped.__cause__, AuthenticationError)
        if isinstance(stopped.__cause__, RateLimitStoreError):
            out.error(f"{stopped.__cause__} — check the Redis server (VOICEAPI_RATE_LIMIT_URL); {RESUME_HINT}")
            return EXIT_NETWORK
        key = "check --api-key / VOICEAPI_API_KEY" if key_flag else "check the API key"
        fix = key if auth else "top up the account's credits"
        out.error(f"{stopped.__cause__ or stopped} — {fix}; {RESUME_HINT}")
        return EXIT_AUTH if auth else EXIT_CREDITS
    if summary.status is JobStatus.CANCELLED:
        out.interrupted(RESUME_HINT)
        return EXIT_INTERRUPTED
    if summary.status is JobStatus.INCOMPLETE:
        out.message(
            f"{summary.pending} of {summary.total} items met only transient errors (5xx, resets, 429) and are still"
            f" pending; {RESUME_HINT}"
        )
        return EXIT_NETWORK
    if summary.status is JobStatus.COMPLETED_WITH_FAILURES:
        out.message(f"{summary.failed} of {summary.total} items failed: see the summary and the report")
        return EXIT_FAILED_ITEMS
    return EXIT_OK

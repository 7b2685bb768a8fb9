"""What every job shares: the journal, plan and cost guard, the run loop, events and summary."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._client import VoiceClient
from .._errors import AuthenticationError, RateLimitStoreError
from ._context import backoff_delay
from ._engine import Engine, EngineOptions, JobKind, StopJob
from ._errors import CostGuardError, JobConfigError, JobStoppedError, JournalMismatchError
from ._events import ItemFailed, ItemFailure, JobEvent, JobPlan, JobStatus, JobSummary
from ._folders import ensure_folders, ensure_project, folder_name
from ._journal import Journal
from ._outcomes import STOP_ERRORS, TRANSIENT_ERRORS
from ._pgstore import PostgresJobStore, is_store_url
from ._plan import build_plan
from ._progress import ProgressCallback, RequestCounter, StageTracker
from ._rebuild import Rebuilt, rebuild_from_server
from ._stages import FINAL_ITEM_STAGES, ItemStage, Step
from ._store import JobStore

__all__ = ["JOURNAL_NAME", "BaseJob"]

T = TypeVar("T")
log = logging.getLogger(__name__)

#: The journal's file name inside the output directory (hidden: directory walks skip it).
JOURNAL_NAME = ".voiceapi-job.sqlite"
_EVENT_QUEUE = 256


class BaseJob:
    """Shared machinery of ``BatchConvertJob`` and ``TTSJob``; these options apply to both.

    - ``output_dir``: where results go; the journal lives there too (``journal_path`` to move it).
      Re-running a job with the same output directory resumes it.  The journal is created
      only when a run really starts (voices, options and inputs checked, the cost guard
      passed): ``plan()``, a dry run or a run that stops before starting leave nothing behind.
    - ``new_job``: start over even if the journal holds another (or the same) job; the old
      journal is kept, renamed ``<name>.<UTC time>.old``, when the new run starts.
    - ``project`` / ``folder``: found by name on the server, created if missing (``folder``
      defaults to the output directory's name).
    - ``upload_concurrency``: uploads/TTS requests (and their orders) in flight;
      ``download_concurrency``: downloads in flight; ``max_active``: items between "upload
      started" and "done" (backpressure: the bound on memory and on server-side work).
    - ``max_conversion_retries``: ``orders.retry`` calls per errored conversion before the item fails.
    - ``max_attempts`` / ``retry_delay``: item-level attempts of a step after transient
      failures (the SDK's own retries come first), with a linear back-off.  A transient
      failure (5xx, reset, timeout, 429) is never final: after ``max_attempts`` the item
      waits (``retry_delay`` doubling up to ``max_retry_delay``) and is tried again, up to
      ``max_deferrals`` times a run; then it stays pending (status ``INCOMPLETE``) and the
      next run picks it up.  Only what retrying cannot fix fails an item: an unreadable or
      unsupported input, a 4xx refusal, a conversion that errored ``max_conversion_retries``
      times after retries the server carried out.
    - ``retry_failed``: on this run, try the items that failed in earlier runs again (by request only).
    - ``poll_interval`` / ``max_poll_interval``: the bulk poll waits ``poll_interval`` after a
      round that saw a change, backing off x1.5 up to ``max_poll_interval`` while nothing changes.
    - ``calibration_id`` / ``use_calibration``: passed to every order.
    - ``force``: run even when the plan costs more credits than the account has.
    - ``adopt_account_limits``: set the client's rate limiter to the account's own limits
      (``data.rate_limits``, one ``auth.me()`` call) before starting, so the job paces itself
      to what the server enforces rather than to the documented defaults.
    - ``max_failures``: failures (and output paths) listed in the summary; the rest are counted.
    - ``job_id``: name the job (e.g. ``"archive-2026-11"``) so that it can be resumed without
      its journal: when the journal is lost, or the job moves to another machine, a run with
      the same name and a fresh journal rebuilds the state from the server (the originals'
      label markers, in the job's project and folders) instead of uploading and paying
      again.  The folder then defaults to the job's name (not the output directory's), and
      markers derive from the name and each input's path relative to its input directory,
      so another machine with the same inputs elsewhere finds them.
    - ``journal``: the journal's path (like ``journal_path``), or ``"postgresql://..."`` to share
      the job (named by ``job_id``) with other workers: they split its items through leases
      of ``lease_seconds`` (renewed while a worker works; a dead worker's items are taken over
      once they run out), each downloading into its own ``output_dir``;
      ``output_locations()`` lists where each output is.  Needs the ``postgres`` extra.
    """

    kind_name: ClassVar[str] = ""

    def __init__(
        self,
        client: VoiceClient,
        output_dir: str | Path,
        *,
        project: str = "voiceapi-async jobs",
        folder: str | None = None,
        journal_path: str | Path | None = None,
        new_job: bool = False,
        journal: str | Path | None = None,
        lease_seconds: float = 30.0,
        upload_concurrency: int = 4,
        download_concurrency: int = 4,
        max_active: int = 200,
        max_conversion_retries: int = 2,
        max_attempts: int = 4,
        retry_delay: float = 1.0,
        max_deferrals: int = 5,
        max_retry_delay: float = 60.0,
        retry_failed: bool = False,
        poll_interval: float = 1.0,
        max_poll_interval: float = 30.0,
        calibration_id: str | None = None,
        use_calibration: bool | None = None,
        force: bool = False,
        max_failures: int = 1000,
        adopt_account_limits: bool = True,
        job_id: str | None = None,
    ) -> None:
        self.client = client
        self.output_dir = Path(output_dir)
        self.project = _check_name(project, "project")
        if job_id is not None and (not isinstance(job_id, str) or not job_id.strip() or len(job_id) > 200):
            raise JobConfigError(f"job_id must be a name of 1 to 200 characters, not {job_id!r}")
        self.requested_job_id = job_id
        default_folder = job_id if job_id is not None else self.output_dir.resolve().name or "batch"
        self.folder = _check_name(folder or folder_name(default_folder), "folder")
        #: A PostgreSQL URL: the job's state is shared by every worker running it (``_pgstore``).
        self.store_url = journal if isinstance(journal, str) and is_store_url(journal) else None
        if self.store_url is not None and job_id is None:
            raise JobConfigError("a shared job store (journal='postgresql://...') needs job_id= to name the job")
        local = journal if journal is not None and self.store_url is None else journal_path
        self.journal_path = Path(local) if local is not None else self.output_dir / JOURNAL_NAME
        self.lease_seconds = lease_seconds
        for name, value in (
            ("upload_concurrency", upload_concurrency),
            ("download_concurrency", download_concurrency),
            ("max_active", max_active),
            ("max_attempts", max_attempts),
        ):
            if not isinstance(value, int) or value < 1:
                raise JobConfigError(f"{name} must be a positive integer, not {value!r}")
        if max_conversion_retries < 0 or max_deferrals < 0:
            raise JobConfigError("max_conversion_retries and max_deferrals must be >= 0")
        if retry_delay < 0 or max_retry_delay < retry_delay:
            raise JobConfigError("need 0 <= retry_delay <= max_retry_delay")
        if poll_interval <= 0 or max_poll_interval < poll_interval:
            raise JobConfigError("need 0 < poll_interval <= max_poll_interval")
        self.options = EngineOptions(
            upload_concurrency=upload_concurrency,
            download_concurrency=download_concurrency,
            max_active=max_active,
            max_conversion_retries=max_conversion_retries,
            max_attempts=max_attempts,
            retry_delay=retry_delay,
            max_deferrals=max_deferrals,
            max_retry_delay=max_retry_delay,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            calibration_id=calibration_id,
            use_calibration=use_calibration,
        )
        self.force = force
        self.new_job = new_job
        self._staged: Journal | None = None
        #: Requests of a ``plan()`` before ``run()`` (voice lookups, credits): the run's summary counts them.
        self._setup = RequestCounter()
        self.retry_failed = retry_failed
        self.max_failures = max_failures
        self.adopt_account_limits = adopt_account_limits
        self.summary: JobSummary | None = None
        self._discard_events = False
        self.job_id = ""
        #: Whether the job is named (``job_id=``): its markers do not depend on where its inputs are.
        self.named = job_id is not None
        #: What a rebuild from the server found (a named job's first run on a fresh journal).
        self.rebuilt: Rebuilt | None = None

    # -- what subclasses provide -----------------------------------------------------------

    def _identity(self) -> dict[str, Any]:
        """Options that must not change between a run and its resumption."""
        return {"kind": self.kind_name, "project": self.project, "folder": self.folder}

    async def _resolve(self, journal: JobStore) -> None:
        """Resolve names to ids (once; resumed runs reuse what the journal holds)."""

    async def _discover(self, journal: JobStore) -> None:
        """Add new inputs to the journal (validated; failures recorded, not raised)."""

    def _kind(self) -> JobKind:
        raise NotImplementedError

    async def _finish(self, journal: JobStore) -> AsyncIterator[JobEvent]:
        """Work on finished items once the engine stopped (TTS: join the parts of long texts)."""
        return
        yield

    # -- the public API --------------------------------------------------------------------

    async def plan(self) -> JobPlan:
        """Discover and validate the inputs and price the job; nothing is spent and nothing written.

        Costs one credits request plus the voice lookups of the first call.  Transient errors
        are waited out as in ``run()`` (the CLI plans first: a 429 burst must not end it).
        """
        await self._drop_staged()
        existing = self.resumes
        journal = await Journal.scratch(copy_of=self.journal_path if existing else None).open()
        self.client.add_answer_hook(self._setup.count)

        async def check() -> JobPlan:
            await self._prepare(journal)
            return await build_plan(self.client, journal)

        try:
            plan = await self._patiently(check)
        except BaseException:
            await journal.close()
            raise
        finally:
            self.client.remove_answer_hook(self._setup.count)
        if existing:
            await journal.close()
        else:
            self._staged = journal  # a run() that follows starts from it instead of discovering again
        return plan

    async def run_to_completion(self, on_progress: ProgressCallback | None = None) -> JobSummary:
        """Run to the end and return the summary (events are not made: nobody would read them)."""
        self._discard_events = True
        try:
            async with contextlib.aclosing(self.run(on_progress=on_progress)) as events:
                async for _ in events:
                    pass
        finally:
            self._discard_events = False
        assert self.summary is not None
        return self.summary

    async def run(self, *, on_progress: ProgressCallback | None = None) -> AsyncGenerator[JobEvent, None]:
        """Run (or resume) the job, yielding one event per item step; ``self.summary`` is set at the end.

        Raises ``CostGuardError`` before spending anything when the credits cannot pay
        (unless ``force=True``), ``UnknownVoiceError`` before any upload for a voice that
        does not exist, and ``JobStoppedError`` after a clean stop on 401/402.  Cancelling
        the consuming task stops new work, lets in-flight requests finish and leaves the
        journal consistent; run the job again to resume.  Items that failed validation are
        reported (``ItemFailed(stage="validate")``) at the start of every run.  Use it as
        ``async with contextlib.aclosing(job.run()) as events:`` when you may stop early.
        """
        counter, self._setup = self._setup, RequestCounter()  # the set-up requests of a plan() count too
        self.client.add_answer_hook(counter.count)
        started = time.monotonic()
        status, error, stop_cause = JobStatus.CANCELLED, None, None
        parked = conversion_retries = 0
        staged = not self.resumes and self.store_url is None
        if not staged:
            await self._drop_staged()  # a plan's scratch journal: a shared store needs none
        journal: JobStore = await self._take_staged() if staged else await self._store().open()
        try:

            async def check() -> JobPlan:
                if self.adopt_account_limits and self.client.rate_limiter.limits.fast is not None:
                    await self.client.adopt_account_rate_limits()
                await self._prepare(journal, reopen_failed=self.retry_failed)
                return await build_plan(self.client, journal)

            async def places() -> str:
                project_id = await ensure_project(self.client, self.project)
                await ensure_folders(self.client, journal, project_id, self.folder)
                return project_id

            try:
                plan = await self._patiently(check)
            except STOP_ERRORS as exc:
                raise StopJob(exc) from exc
            if not plan.affordable and not self.force:
                raise CostGuardError(
                    f"this job would charge about {plan.remaining_charge:.1f} s of conversion but the account has "
                    f"{plan.credits:.1f} s of credits; nothing was spent (pass force=True to run anyway)",
                    plan=plan,
                )
            if staged:  # everything checked: from now on the run is real, and journaled next to the job
                assert isinstance(journal, Journal)
                journal = await self._start_journal(journal)
            async for event in self._validation_failures(journal):
                yield event
            try:
                async with _exclusive(journal):  # several workers of a shared job: one creates the folders
                    project_id = await self._patiently(places)
                if await journal.get_meta("rebuild_from_server"):
                    self.rebuilt = await self._patiently(
                        lambda: rebuild_from_server(self.client, journal, self._kind())
                    )
                    await journal.set_meta({"rebuild_from_server": False})
                    log.info("job %s rebuilt from the server: %s", self.job_id, self.rebuilt)
            except STOP_ERRORS as exc:
                raise StopJob(exc) from exc
            async with _heartbeat(journal):
                # One engine run, or (a shared store) one per batch of items this worker claims.
                while await _claim(journal, max(4, self.options.upload_concurrency * 2)):
                    tracker = StageTracker(await journal.counts(), counter, on_progress)
                    send, receive = anyio.create_memory_object_stream[JobEvent](_EVENT_QUEUE)
                    engine = Engine(
                        self.client,
                        journal,
                        self._kind(),
                        self.options,
                        project_id,
                        self.output_dir,
                        tracker,
                        None if self._discard_events else send.send,
                    )
                    # aclosing: when the consumer stops early, the engine is cancelled and waited for
                    # (its critical sections journaled) before the journal closes below.
                    async with contextlib.aclosing(_drain(engine.run, send, receive)) as events:
                        async for event in events:
                            yield event
                    tracker.report()
                    parked += engine.parked
                    conversion_retries += engine.conversion_retries
                    if not isinstance(journal, PostgresJobStore):
                        break
            if not isinstance(journal, PostgresJobStore):  # a shared job's parts are in several directories
                async for event in self._finish(journal):
                    yield event
            counts = await journal.counts()
            if parked:
                status = JobStatus.INCOMPLETE
            else:
                status = JobStatus.COMPLETED_WITH_FAILURES if counts.get(ItemStage.FAILED) else JobStatus.COMPLETED
        except StopJob as stop:
            status, error, stop_cause = JobStatus.STOPPED, str(stop.cause), stop.cause
        except CostGuardError:
            status = JobStatus.STOPPED
            raise
        finally:
            try:
                self.summary = await self._summarize(journal, status, counter, started, conversion_retries, error)
            finally:
                await journal.close()
                self.client.remove_answer_hook(counter.count)
        if stop_cause is not None:
            what = (
                "authentication failed"
                if isinstance(stop_cause, AuthenticationError)
                else "the shared rate-limit store failed"
                if isinstance(stop_cause, RateLimitStoreError)
                else "out of credits"
            )
            raise JobStoppedError(
                f"the batch stopped ({what}): {stop_cause}; the journal is consistent, run again to resume",
                summary=self.summary,
            ) from stop_cause

    # -- internals ---------------------------------------------------------------------------

    async def _patiently(self, step: Callable[[], Awaitable[T]]) -> T:
        """A set-up step (idempotent lookups, find-or-create) tried again after transient errors.

        The SDK already retried each request; a longer outage (a 429 burst, 5xx) is waited
        out like an item's: ``retry_delay`` doubling, ``max_deferrals`` times, on the client's clock.
        """
        for deferral in range(1, self.options.max_deferrals + 2):
            try:
                return await step()
            except TRANSIENT_ERRORS:
                if deferral > self.options.max_deferrals:
                    raise
                await self.client._transport.sleep(backoff_delay(self.options, deferral))
        raise AssertionError("unreachable")

    @property
    def resumes(self) -> bool:
        """Whether a run now would continue the job journaled at ``journal_path`` (else it starts one)."""
        return not self.new_job and self.journal_path.is_file()

    async def output_locations(self) -> list[tuple[str, str, int, str]]:
        """A job shared on PostgreSQL: ``(item key, name, target, file)`` of every downloaded output.

        ``file`` is the downloading worker's output directory joined with the output's path.
        """
        store = self._store()
        if not isinstance(store, PostgresJobStore):
            raise JobConfigError("output_locations() reads a job shared on PostgreSQL (journal='postgresql://...')")
        await store.open()
        try:
            return [(k, n, t, os.path.join(loc, path)) for k, n, t, loc, path in await store.output_locations()]
        finally:
            await store.close()

    def _store(self) -> JobStore:
        """The SQLite journal (a path), or this worker's view of a job shared on PostgreSQL (a URL)."""
        if self.store_url is None:
            return Journal(self.journal_path)
        assert self.requested_job_id is not None
        return PostgresJobStore(
            self.store_url, self.requested_job_id, self.output_dir, lease_seconds=self.lease_seconds
        )

    async def _take_staged(self) -> Journal:
        staged, self._staged = self._staged, None
        return staged if staged is not None else await Journal.scratch().open()

    async def _drop_staged(self) -> None:
        staged, self._staged = self._staged, None
        if staged is not None:
            await staged.close()

    async def _start_journal(self, scratch: Journal) -> Journal:
        """The checks passed: the scratch journal becomes the job's own (an old one is kept, renamed)."""
        await asyncio.to_thread(_set_aside, self.journal_path)
        await scratch.persist(self.journal_path)
        await scratch.close()
        return await Journal(self.journal_path).open()

    async def _prepare(self, journal: JobStore, *, reopen_failed: bool = False) -> None:
        identity = self._identity()
        stored = await journal.get_meta("identity")
        if stored is None:
            # A named job's fresh journal may be a lost one's successor: the server is asked first.
            self.job_id = self.requested_job_id or uuid.uuid4().hex
            # (A shared store is that state: nothing to rebuild.)
            rebuild = self.named and self.store_url is None
            await journal.set_meta(
                {"identity": identity, "job_id": self.job_id, "named": self.named, "rebuild_from_server": rebuild}
            )
        elif stored != identity and not await self._same_job(journal, stored, identity):
            diffs = _differences(stored, identity)
            raise JournalMismatchError(
                f"{self.journal_path} is the journal of another job ({diffs}). To resume that job, run it with its"
                " own options; new_job=True starts a new job here (the old journal is kept, renamed); to keep both,"
                " give this job another output_dir or journal_path.",
                journal_path=str(self.journal_path),
                differences=diffs,
            )
        else:
            self.job_id = await journal.get_meta("job_id")
            if self.requested_job_id is not None and self.requested_job_id != self.job_id:
                raise JournalMismatchError(
                    f"{self.journal_path} belongs to job {self.job_id!r}, not {self.requested_job_id!r}; "
                    "use another output directory or journal_path",
                    journal_path=str(self.journal_path),
                )
            self.named = bool(await journal.get_meta("named"))
        if reopen_failed:
            await journal.reopen_failed()
        await self._resolve(journal)
        await self._discover(journal)

    async def _same_job(self, journal: JobStore, stored: dict[str, Any], identity: dict[str, Any]) -> bool:
        """Targets named differently (case, an id for a name) that resolve to the ids the journal holds."""
        changed = {k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k)}
        if changed != {"targets"}:
            return False
        held = await journal.get_meta("resolved_targets")
        return held is not None and held == await self._resolved_targets()

    async def _resolved_targets(self) -> Any:
        """The requested targets resolved to ids, as the journal stores them (``None``: no targets)."""
        return None

    async def _validation_failures(self, journal: JobStore) -> AsyncIterator[JobEvent]:
        after = 0
        while rows := await journal.items_in_stages((ItemStage.FAILED,), after, 256):
            after = rows[-1].seq
            for row in rows:
                if row.error_stage == Step.VALIDATE:
                    yield ItemFailed(key=row.key, name=row.name, stage=Step.VALIDATE, reason=row.error or "invalid")

    async def _summarize(
        self,
        journal: JobStore,
        status: JobStatus,
        counter: RequestCounter,
        started: float,
        conversion_retries: int,
        error: str | None,
    ) -> JobSummary:
        counts = await journal.counts()
        rows, failed = await journal.failures(self.max_failures)
        failures = tuple(ItemFailure(key=k, name=n, stage=s, reason=r) for k, n, s, r in rows)
        files, file_count = await journal.output_files(self.max_failures)
        return JobSummary(
            status=status,
            total=sum(counts.values()),
            done=counts.get(ItemStage.DONE, 0),
            failed=failed,
            counts=counts,
            failures=failures,
            failures_truncated=max(0, failed - len(failures)),
            requests=counter.requests,
            requests_by_endpoint=dict(counter.by_endpoint),
            rate_limited=counter.rate_limited,
            conversion_retries=conversion_retries,
            duration=time.monotonic() - started,
            output_files=tuple(files),
            output_count=file_count,
            journal_path=journal.path if isinstance(journal, PostgresJobStore) else str(self.journal_path),
            error=error,
            pending=sum(n for stage, n in counts.items() if stage not in FINAL_ITEM_STAGES),
        )


def _differences(stored: dict[str, Any], identity: dict[str, Any]) -> str:
    changed = sorted(k for k in set(stored) | set(identity) if stored.get(k) != identity.get(k))
    return "; ".join(f"{k}: the journal has {stored.get(k)!r}, this run asks for {identity.get(k)!r}" for k in changed)


async def _claim(journal: JobStore, batch: int) -> bool:
    """Whether to run the engine (again): always once on a journal; on a shared store, while items are left.

    A worker with nothing to claim waits while other workers hold unfinished items: if
    one of them dies, its leases run out and its items are claimed here.
    """
    if not isinstance(journal, PostgresJobStore):
        return True
    while not await journal.claim(batch):
        if not await journal.unfinished_elsewhere():
            return False
        await asyncio.sleep(journal.lease_seconds / 3)
    return True


@contextlib.asynccontextmanager
async def _heartbeat(journal: JobStore) -> AsyncIterator[None]:
    """A shared store's worker renews its leases every third of their duration while it works."""
    if not isinstance(journal, PostgresJobStore):
        yield
        return

    async def beat() -> None:
        while True:
            await asyncio.sleep(journal.lease_seconds / 3)
            try:
                await journal.renew()
            except (OSError, journal.errors) as exc:  # a blip: the next beat tries again; writes are fenced anyway
                log.warning("could not renew the leases of worker %s: %s", journal.worker, exc)

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _exclusive(journal: JobStore) -> contextlib.AbstractAsyncContextManager[None]:
    return journal.exclusive() if isinstance(journal, PostgresJobStore) else contextlib.nullcontext()


async def _drain(
    run: Callable[[], Awaitable[None]],
    send: MemoryObjectSendStream[JobEvent],
    receive: MemoryObjectReceiveStream[JobEvent],
) -> AsyncGenerator[JobEvent, None]:
    """Yield the events ``run`` sends while it runs; re-raise its error; cancel it if we stop.

    ``run`` goes in a task of its own (not a task group: this is an async generator,
    which may be suspended at a ``yield`` indefinitely); its end closes ``send``, which
    ends the loop below.
    """

    async def work() -> None:
        async with send:
            await run()

    task: asyncio.Task[None] = asyncio.ensure_future(work())
    try:
        async with receive:
            while True:
                try:  # what is buffered is taken without a trip through the event loop
                    event = receive.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        event = await receive.receive()
                    except anyio.EndOfStream:
                        break
                except anyio.EndOfStream:
                    break
                yield event
        await task
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


def _set_aside(journal_path: Path) -> None:
    """Rename an old journal (with its WAL files) out of the way, keeping it."""
    if not journal_path.exists():
        return
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    for suffix in ("", "-wal", "-shm"):
        old = Path(f"{journal_path}{suffix}")
        if old.exists():
            old.rename(old.with_name(f"{journal_path.name}.{stamp}.old{suffix}"))


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 40:
        raise JobConfigError(f"{what} name must be 1 to 40 characters, not {name!r}")
    return name

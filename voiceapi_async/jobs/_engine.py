"""The pipeline both job kinds share: create originals -> order -> poll in bulk -> retry -> download.

Everything is driven from the journal, read in chunks, with bounded queues between
stages and at most ``max_active`` items between "upload started" and "done", so memory
is O(concurrency), not O(items).

Every non-idempotent request (upload, TTS, order, retry) is preceded by a durable intent
in the journal and runs as a *critical section*: cancelling the job does not interrupt
it between the request and the journal write (it finishes or times out).  When its fate
is unknown (a connection broken after sending, a 5xx), the server is asked before
anything is sent again (see ``_reconcile``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from .._client import VoiceClient
from .._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    InsufficientCreditsError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    VoiceAPIError,
)
from .._models import Recording, RecordingState
from ._events import (
    ItemConverted,
    ItemDone,
    ItemDownloaded,
    ItemFailed,
    ItemOrdered,
    ItemRetried,
    JobEvent,
)
from ._journal import SUBMIT_STAGES, ItemRow, Journal, OutputRow
from ._poll import PollInterval
from ._progress import StageTracker
from ._reconcile import find_conversions, find_original
from ._targets import ResolvedTarget

__all__ = ["Engine", "EngineOptions", "JobKind", "StopJob"]

T = TypeVar("T")
_CHUNK = 64
_MAX_DIRECT_GETS = 50


class StopJob(Exception):
    """An account-level error (401, 402): stop the whole batch cleanly."""

    def __init__(self, cause: VoiceAPIError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Uncertain(Exception):
    """The request may have been carried out: reconcile before sending it again."""


class _Transient(Exception):
    """Nothing happened on the server; the same request may be sent again later."""


class _ItemRefused(Exception):
    """The server (or a local check) refused this item for good."""


class JobKind(Protocol):
    """What differs between a speech-to-speech and a TTS job."""

    def create_original(self, item: ItemRow) -> Awaitable[Recording]:
        """Send the non-idempotent request that makes the item's original."""

    def created_event(self, item: ItemRow, original_id: str, reconciled: bool) -> JobEvent: ...

    def targets_for(self, item: ItemRow) -> Sequence[ResolvedTarget]: ...

    def output_path(self, item: ItemRow, target: int, extension: str) -> PurePosixPath:
        """Where an output goes, relative to the output directory."""


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    upload_concurrency: int = 4
    download_concurrency: int = 4
    max_active: int = 200
    max_conversion_retries: int = 2
    max_attempts: int = 4
    retry_delay: float = 1.0
    poll_interval: float = 1.0
    max_poll_interval: float = 30.0
    poll_backoff: float = 1.5
    calibration_id: str | None = None
    use_calibration: bool | None = None


@dataclasses.dataclass
class _Work:
    """An item in a submit worker, with the stage the tracker last saw."""

    row: ItemRow
    stage: str


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _extension(url: str | None, file_name: str | None) -> str:
    for name in (file_name, urlsplit(url or "").path.rsplit("/", 1)[-1]):
        suffix = PurePosixPath(name or "").suffix
        if suffix and len(suffix) <= 6:
            return suffix.lower()
    return ".wav"


class Engine:
    def __init__(
        self,
        client: VoiceClient,
        journal: Journal,
        kind: JobKind,
        options: EngineOptions,
        project_id: str,
        output_dir: Path,
        tracker: StageTracker,
        emit: Callable[[JobEvent], Awaitable[None]],
    ) -> None:
        self.client = client
        self.journal = journal
        self.kind = kind
        self.opts = options
        self.project_id = project_id
        self.output_dir = output_dir
        self.tracker = tracker
        self._emit_raw = emit
        self.round = 0
        self.conversion_retries = 0
        self._critical_tasks: set[asyncio.Task[Any]] = set()
        self._holding: set[int] = set()
        self._slot_freed = asyncio.Event()
        self._all_final = asyncio.Event()
        self._unannounced = 0
        self._work_ready = asyncio.Event()
        self._retry_pending: set[str] = set()
        self._downloading: set[tuple[int, int]] = set()
        self._scan_from: dict[str, int] = {}
        self._submit_q: asyncio.Queue[ItemRow] = asyncio.Queue(max(1, options.upload_concurrency))
        self._download_q: asyncio.Queue[tuple[OutputRow, str]] = asyncio.Queue(max(8, options.download_concurrency * 4))
        self._retry_q: asyncio.Queue[tuple[OutputRow, str]] = asyncio.Queue()

    # -- lifecycle ------------------------------------------------------------------------

    async def run(self) -> None:
        """Work until every item is done or failed.  Raises ``StopJob`` on 401/402."""
        await self._restore()
        if self.tracker.remaining == 0:
            return
        workers = [
            self._feed_submissions(),
            self._feed_downloads(),
            self._poll_loop(),
            self._retry_loop(),
            *(self._submit_loop() for _ in range(max(1, self.opts.upload_concurrency))),
            *(self._download_loop() for _ in range(max(1, self.opts.download_concurrency))),
        ]
        tasks = [asyncio.ensure_future(w) for w in workers]
        finished = asyncio.ensure_future(self._all_final.wait())
        try:
            pending: set[asyncio.Future[Any]] = {*tasks, finished}
            while not finished.done():
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is not finished and not task.cancelled() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
        finally:
            for task in (*tasks, finished):
                task.cancel()
            await asyncio.gather(*tasks, finished, return_exceptions=True)
            # In-flight non-idempotent requests finish (or time out) and are journaled.
            while self._critical_tasks:
                await asyncio.gather(*list(self._critical_tasks), return_exceptions=True)

    async def _restore(self) -> None:
        """Bring a journal left by an earlier run to a state the workers can pick up."""
        for seq in await self.journal.unsettled_items():
            await self.journal.settle_item(seq)
        after = (0, -1)
        while rows := await self.journal.outputs_in_stage("downloaded", after, 256):
            after = (rows[-1].item_seq, rows[-1].target)
            for out in rows:
                if not await asyncio.to_thread(_file_matches, out.path, out.size):
                    await self.journal.reopen_output(out.item_seq, out.target)
        self.tracker.counts.clear()
        self.tracker.counts.update(await self.journal.counts())
        self._holding.update(await self.journal.converting_items())
        self._scan_from = await self.journal.get_meta("scan_from") or {}
        if self.project_id not in self._scan_from and not await self.journal.any_created():
            # A fresh job: none of its recordings exist yet, so the first pass can skip the project's history.
            page = await self._guard(self.client.recordings.list(project_id=self.project_id, limit=1))
            self._scan_from[self.project_id] = page.pagination.count
            await self.journal.set_meta({"scan_from": self._scan_from})
        if self.tracker.remaining == 0:
            self._all_final.set()
        self.tracker.report()

    async def _critical(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to its end even if the job is cancelled meanwhile."""
        task = asyncio.ensure_future(coro)
        self._critical_tasks.add(task)
        task.add_done_callback(self._critical_tasks.discard)
        return await asyncio.shield(task)

    def _move(self, seq: int, old: str, new: str) -> None:
        self.tracker.move(old, new)
        if new in ("done", "failed") and old not in ("done", "failed"):
            self._unannounced += 1
            if seq in self._holding:
                self._holding.discard(seq)
                self._slot_freed.set()

    async def _emit(self, event: JobEvent, *, final: bool = False) -> None:
        """Hand an event to the consumer.  ``final``: it announces an item's end (``ItemDone``/``ItemFailed``).

        The job ends once no item is left *and* every end has been announced.
        """
        await self._emit_raw(event)
        if final:
            self._unannounced -= 1
        if self.tracker.remaining == 0 and self._unannounced == 0:
            self._all_final.set()

    async def _fail(self, work: _Work, stage: str, reason: str) -> None:
        await self.journal.fail_item(work.row.seq, stage, reason)
        self._move(work.row.seq, work.stage, "failed")
        work.stage = "failed"
        await self._emit(ItemFailed(key=work.row.key, name=work.row.name, stage=stage, reason=reason), final=True)

    async def _set_stage(self, work: _Work, stage: str, *, intent: bool = False) -> None:
        await self.journal.set_stage(work.row.seq, stage, intent=intent)
        self._move(work.row.seq, work.stage, stage)
        work.stage = stage

    # -- submission: original + order -------------------------------------------------------

    async def _feed_submissions(self) -> None:
        after = 0
        while rows := await self.journal.items_in_stages(SUBMIT_STAGES, after, _CHUNK):
            for row in rows:
                after = row.seq
                while len(self._holding) >= self.opts.max_active:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                self._holding.add(row.seq)
                await self._submit_q.put(row)

    async def _submit_loop(self) -> None:
        while True:
            row = await self._submit_q.get()
            work = _Work(row, row.stage)
            await self._submit(work)

    async def _submit(self, work: _Work) -> None:
        if work.stage in ("pending", "creating"):
            original_id = await self._make_original(work)
            if original_id is None:
                return
            work.row = dataclasses.replace(work.row, original_id=original_id)
        assert work.row.original_id is not None
        targets = self.kind.targets_for(work.row)
        if not targets:  # a TTS original without conversions is itself the output
            await self.journal.set_converting(work.row.seq, [(-1, work.row.original_id)], self.round)
            self._move(work.row.seq, work.stage, "converting")
            self._work_ready.set()
            return
        await self._order(work, targets)

    async def _attempts(
        self,
        work: _Work,
        stage_name: str,
        attempt: Callable[[], Coroutine[Any, Any, T]],
        reconcile: Callable[[], Awaitable[T | None]],
    ) -> tuple[T, bool] | None:
        """Run a non-idempotent step with reconciliation; ``(result, reconciled)`` or ``None`` if it failed."""
        last = "no attempt made"
        for n in range(1, self.opts.max_attempts + 1):
            try:
                return await self._critical(attempt()), False
            except _Uncertain as exc:
                last = _reason(exc)
                found = await self._try_reconcile(reconcile)
                if found is not None:
                    return found, True
            except _Transient as exc:
                last = _reason(exc)
            except _ItemRefused as exc:
                await self._fail(work, stage_name, _reason(exc))
                return None
            if n < self.opts.max_attempts:
                await asyncio.sleep(self.opts.retry_delay * n)
        await self._fail(work, stage_name, f"gave up after {self.opts.max_attempts} attempts: {last}")
        return None

    async def _try_reconcile(self, reconcile: Callable[[], Awaitable[T | None]]) -> T | None:
        try:
            return await reconcile()
        except (AuthenticationError, InsufficientCreditsError) as exc:
            raise StopJob(exc) from exc
        except VoiceAPIError:
            return None  # could not ask: the caller counts an attempt and asks again later

    def _classify(self, exc: Exception) -> Exception:
        """What a failed non-idempotent request means for the item."""
        if isinstance(exc, (AuthenticationError, InsufficientCreditsError)):
            return StopJob(exc)
        if isinstance(exc, APIConnectionError):
            return _Uncertain(_reason(exc)) if exc.request_sent else _Transient(_reason(exc))
        if isinstance(exc, InternalServerError):
            return _Uncertain(_reason(exc))  # a 5xx to a POST may hide a done deed (e.g. a gateway timeout)
        if isinstance(exc, RateLimitError):
            return _Transient(_reason(exc))
        if isinstance(exc, (APIStatusError, InvalidRequestError)):
            return _ItemRefused(_reason(exc))
        return exc

    async def _make_original(self, work: _Work) -> str | None:
        row = work.row

        async def reconcile() -> Recording | None:
            assert row.folder_id is not None and row.label is not None
            return await find_original(self.client, row.folder_id, row.label, row.size, row.intent_at)

        if work.stage == "creating":  # an earlier run sent it, maybe: look before sending again
            found = await self._try_reconcile(reconcile)
            if found is not None:
                await self._record_original(work, found.id, reconciled=True)
                return found.id

        async def attempt() -> Recording:
            await self._set_stage(work, "creating", intent=True)
            try:
                recording = await self.kind.create_original(row)
            except Exception as exc:
                outcome = self._classify(exc)
                if not isinstance(outcome, _Uncertain):
                    await self._set_stage(work, "pending")
                raise outcome from exc
            await self._record_original(work, recording.id, reconciled=False, emit=False)
            return recording

        result = await self._attempts(work, "upload", attempt, reconcile)
        if result is None:
            return None
        recording, reconciled = result
        if reconciled:
            await self._record_original(work, recording.id, reconciled=True)
        else:
            await self._emit(self.kind.created_event(row, recording.id, False))
        return recording.id

    async def _record_original(self, work: _Work, original_id: str, *, reconciled: bool, emit: bool = True) -> None:
        await self.journal.set_created(work.row.seq, original_id)
        self._move(work.row.seq, work.stage, "created")
        work.stage = "created"
        if emit:
            await self._emit(self.kind.created_event(work.row, original_id, reconciled))

    async def _order(self, work: _Work, targets: Sequence[ResolvedTarget]) -> None:
        row = work.row
        original_id = row.original_id
        assert original_id is not None
        have: dict[int, str] = {}

        async def reconcile() -> dict[int, str] | None:
            found = await find_conversions(self.client, original_id, targets)
            return found if len(found) == len(targets) else None

        if work.stage == "ordering":
            found = await self._try_reconcile(lambda: find_conversions(self.client, original_id, targets))
            have = found or {}
            if len(have) == len(targets):
                await self._record_order(work, have, reconciled=True)
                return
        missing = [i for i in range(len(targets)) if i not in have]

        async def attempt() -> dict[int, str]:
            await self._set_stage(work, "ordering", intent=True)
            try:
                orders = await self.client.orders.create(
                    original_id,
                    [targets[i].conversion() for i in missing],
                    calibration_id=self.opts.calibration_id,
                    use_calibration=self.opts.use_calibration,
                )
            except Exception as exc:
                outcome = self._classify(exc)
                if not isinstance(outcome, _Uncertain):
                    await self._set_stage(work, "created")
                raise outcome from exc
            placed = {**have, **{i: order.conversion_id for i, order in zip(missing, orders, strict=False)}}
            await self._record_order(work, placed, reconciled=False, emit=False)
            return placed

        result = await self._attempts(work, "order", attempt, reconcile)
        if result is None:
            return
        placed, reconciled = result
        if reconciled:
            await self._record_order(work, placed, reconciled=True)
        else:
            await self._emit(
                ItemOrdered(key=row.key, name=row.name, original_id=original_id, conversion_ids=tuple(placed.values()))
            )

    async def _record_order(self, work: _Work, placed: dict[int, str], *, reconciled: bool, emit: bool = True) -> None:
        await self.journal.set_converting(work.row.seq, sorted(placed.items()), self.round)
        self._move(work.row.seq, work.stage, "converting")
        work.stage = "converting"
        self._work_ready.set()
        if emit:
            assert work.row.original_id is not None
            await self._emit(
                ItemOrdered(
                    key=work.row.key,
                    name=work.row.name,
                    original_id=work.row.original_id,
                    conversion_ids=tuple(placed[i] for i in sorted(placed)),
                    reconciled=reconciled,
                )
            )

    # -- polling ----------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        interval = PollInterval(self.opts.poll_interval, self.opts.max_poll_interval, self.opts.poll_backoff)
        while True:
            if not await self.journal.has_watched():
                self._work_ready.clear()
                if not await self.journal.has_watched():
                    await self._work_ready.wait()
                    interval.reset()
                continue
            await asyncio.sleep(interval.current)
            self.round += 1
            try:
                changed = await self._poll_project()
            except StopJob:
                raise
            except VoiceAPIError:
                changed = False  # the SDK already retried; try again next round (backing off)
            interval.update(changed)

    async def _poll_project(self) -> bool:
        """One bulk pass over the job's project: pages of 200 recordings, oldest first, from the first still pending.

        Listing in ascending order keeps every recording's position stable, so the pass
        starts where something was still pending last time: finished history (ours or
        anyone's) is not read again, and one page answers for up to 200 recordings of any
        of the job's folders.  Recordings we wait for but did not see are looked for from
        the start next time, then fetched one by one.
        """
        start = self._scan_from.get(self.project_id, 0)
        offset, count = start, 0
        first_pending: int | None = None
        seen: set[str] = set()
        changed = False
        while True:
            page = await self._guard(
                self.client.recordings.list(project_id=self.project_id, limit=200, offset=offset, direction="asc")
            )
            count = page.pagination.count
            outputs, originals = await self.journal.lookup([r.id for r in page.list])
            for i, recording in enumerate(page.list):
                out = outputs.get(recording.id)
                if out is not None:
                    seen.add(recording.id)
                    pending, did = await self._observe(out, recording)
                    changed |= did
                    if pending and first_pending is None:
                        first_pending = offset + i
                elif (item := originals.get(recording.id)) is not None:
                    changed |= await self._observe_original(item, recording)
            offset += len(page.list)
            if not page.list or offset >= count:
                break
        next_start = first_pending if first_pending is not None else min(offset, count)
        missing = [rid for rid in await self.journal.watched(self.round) if rid not in seen]
        if missing:
            if start > 0:
                next_start = 0
            else:
                changed |= await self._fetch_missing(missing[:_MAX_DIRECT_GETS])
        if next_start != start:
            self._scan_from[self.project_id] = next_start
            await self.journal.set_meta({"scan_from": self._scan_from})
        return changed

    async def _fetch_missing(self, recording_ids: Sequence[str]) -> bool:
        changed = False
        outputs, _ = await self.journal.lookup(list(recording_ids))
        for rid, out in outputs.items():
            try:
                recording = await self._guard(self.client.recordings.get(rid))
            except NotFoundError:
                await self._output_failed(out, "the converted recording disappeared from the server")
                changed = True
                continue
            changed |= (await self._observe(out, recording))[1]
        return changed

    async def _guard(self, coro: Awaitable[T]) -> T:
        try:
            return await coro
        except (AuthenticationError, InsufficientCreditsError) as exc:
            raise StopJob(exc) from exc

    async def _observe(self, out: OutputRow, recording: Recording) -> tuple[bool, bool]:
        """Apply a polled state; returns (still pending, something changed)."""
        if out.stage not in ("processing", "retrying"):
            return False, False
        state = recording.state
        if state == RecordingState.DONE:
            await self.journal.set_output(out.item_seq, out.target, "converted", url=recording.url)
            item = await self.journal.item(out.item_seq)
            await self._emit(
                ItemConverted(
                    key=item.key, name=item.name, target=self._target_name(item, out.target), recording_id=recording.id
                )
            )
            await self._download_q.put((dataclasses.replace(out, url=recording.url), recording.file_name or ""))
            return False, True
        if state == RecordingState.ERROR:
            if recording.id in self._retry_pending:
                return True, False
            if out.retries < self.opts.max_conversion_retries:
                self._retry_pending.add(recording.id)
                await self._retry_q.put((out, recording.error or "conversion failed"))
                return True, True
            await self._output_failed(out, f"conversion failed: {recording.error or 'error'} (retried {out.retries}x)")
            return False, True
        if out.stage == "retrying":  # an uncertain retry did reach the server
            await self.journal.set_output(out.item_seq, out.target, "processing")
        return True, False

    async def _observe_original(self, item: ItemRow, recording: Recording) -> bool:
        if recording.state != RecordingState.ERROR or item.stage != "converting":
            return False
        await self.journal.set_original_state(item.seq, str(recording.state))
        await self._fail(
            _Work(item, item.stage), "convert", f"the original failed processing: {recording.error or 'error'}"
        )
        return True

    def _target_name(self, item: ItemRow, target: int) -> str:
        targets = self.kind.targets_for(item)
        return targets[target].label if 0 <= target < len(targets) else "original"

    async def _output_failed(self, out: OutputRow, reason: str) -> None:
        await self.journal.set_output(out.item_seq, out.target, "failed", error=reason)
        await self._settle(out.item_seq)

    async def _settle(self, seq: int) -> None:
        outcome = await self.journal.settle_item(seq)
        if outcome is None:
            return
        self._move(seq, "converting", outcome)
        item = await self.journal.item(seq)
        if outcome == "done":
            outputs = await self.journal.outputs_of(seq)
            await self._emit(
                ItemDone(key=item.key, name=item.name, outputs=tuple(o.path or "" for o in outputs)), final=True
            )
        else:
            await self._emit(
                ItemFailed(key=item.key, name=item.name, stage="convert", reason=item.error or "failed"), final=True
            )

    # -- retries of errored conversions ---------------------------------------------------------

    async def _retry_loop(self) -> None:
        while True:
            out, error = await self._retry_q.get()
            try:
                refused = await self._critical(self._retry_once(out))
            finally:
                self._retry_pending.discard(out.recording_id or "")
            item = await self.journal.item(out.item_seq)
            if refused is not None:
                await self._output_failed(out, f"retry refused: {refused}")
            elif refused is None and out.recording_id is not None:
                await self._emit(
                    ItemRetried(
                        key=item.key,
                        name=item.name,
                        target=self._target_name(item, out.target),
                        recording_id=out.recording_id,
                        attempt=out.retries + 1,
                        error=error,
                    )
                )

    async def _retry_once(self, out: OutputRow) -> str | None:
        """``orders.retry`` with its intent journaled; returns why the server refused it, if it did."""
        assert out.recording_id is not None
        await self.journal.set_output(out.item_seq, out.target, "retrying", add_retry=True)
        try:
            await self.client.orders.retry(out.recording_id)
        except Exception as exc:
            outcome = self._classify(exc)
            if isinstance(outcome, StopJob):
                raise outcome from exc
            if isinstance(outcome, _ItemRefused) and isinstance(exc, APIStatusError) and exc.status_code == 400:
                # "only failed conversions can be retried": an earlier retry already took.
                await self.journal.set_output(out.item_seq, out.target, "processing")
                return None
            if isinstance(outcome, _ItemRefused):
                return _reason(exc)
            return None  # uncertain or transient: stays "retrying"; the next poll decides
        await self.journal.set_output(out.item_seq, out.target, "processing")
        self.conversion_retries += 1
        return None

    # -- downloads --------------------------------------------------------------------------------

    async def _feed_downloads(self) -> None:
        """Results a previous run saw converted but did not download."""
        after = (0, -1)
        while rows := await self.journal.outputs_in_stage("converted", after, _CHUNK):
            after = (rows[-1].item_seq, rows[-1].target)
            for out in rows:
                await self._download_q.put((out, ""))

    async def _download_loop(self) -> None:
        while True:
            out, file_name = await self._download_q.get()
            await self._download(out, file_name)

    async def _download(self, out: OutputRow, file_name: str) -> None:
        slot = (out.item_seq, out.target)
        if slot in self._downloading:
            return
        self._downloading.add(slot)
        try:
            await self._download_one(out, file_name)
        finally:
            self._downloading.discard(slot)

    async def _download_one(self, out: OutputRow, file_name: str) -> None:
        item = await self.journal.item(out.item_seq)
        current = next((o for o in await self.journal.outputs_of(out.item_seq) if o.target == out.target), None)
        if item.stage != "converting" or current is None or current.stage != "converted" or out.recording_id is None:
            return
        url = current.url
        relative = self.kind.output_path(item, out.target, _extension(url, file_name))
        destination = self.output_dir / relative
        await asyncio.to_thread(_remove_partials, destination)
        last = ""
        for attempt in range(1, self.opts.max_attempts + 1):
            try:
                if not url:
                    url = (await self._guard(self.client.recordings.get(out.recording_id))).url
                if not url:
                    raise NotFoundError("the recording has no url", status_code=404, method="GET", path="")
                downloaded = await self._guard(self.client.recordings.download(url, destination))
                break
            except (NotFoundError, PermissionDeniedError) as exc:
                url = None  # a stale or expired link: ask for the recording again
                last = _reason(exc)
            except VoiceAPIError as exc:
                last = _reason(exc)
            if attempt < self.opts.max_attempts:
                await asyncio.sleep(self.opts.retry_delay * attempt)
        else:
            await self._output_failed(out, f"download failed: {last}")
            return
        await self.journal.set_output(
            out.item_seq, out.target, "downloaded", path=str(downloaded.path), size=downloaded.size, url=url
        )
        await self._emit(
            ItemDownloaded(
                key=item.key,
                name=item.name,
                target=self._target_name(item, out.target),
                recording_id=out.recording_id,
                path=str(downloaded.path),
                size=downloaded.size,
            )
        )
        await self._settle(out.item_seq)


def _remove_partials(destination: Path) -> None:
    """Temporary files a killed run left next to ``destination`` (the SDK writes ``.<name>.<random>.part``)."""
    if destination.parent.is_dir():
        for stale in destination.parent.glob(f".{glob.escape(destination.name)}.*.part"):
            stale.unlink(missing_ok=True)


def _file_matches(path: str | None, size: int | None) -> bool:
    if not path or size is None:
        return False
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False

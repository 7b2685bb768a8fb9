"""Submission: create each item's original (upload or TTS), then order all its conversions at once.

Both requests are non-idempotent: each is preceded by a durable intent (``creating``,
``ordering``) and runs as a critical section.  When its fate is unknown, or an earlier
run left the intent behind, the server is asked (``_reconcile``) before sending again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

import anyio
import msgspec

from .._errors import VoiceAPIError
from .._models import Recording
from ._context import CHUNK, EngineContext, Work
from ._events import ItemOrdered, ItemPostponed
from ._outcomes import STOP_ERRORS, ItemRefused, StopJob, Transient, Uncertain, classify, reason
from ._reconcile import find_conversions, find_original
from ._stages import SUBMIT_STAGES, ItemStage, Step
from ._store import ItemRow
from ._targets import ResolvedTarget

__all__ = ["Submitter"]

T = TypeVar("T")


class Submitter:
    """Feeds items still to submit (at most ``max_active`` held) to ``upload_concurrency`` workers.

    A step that keeps failing transiently is not final: the item waits (``ctx.backoff``)
    and comes back to a worker, up to ``max_deferrals`` times a run, then stays pending for
    the next run.  On 402 (``ctx.halt``) nothing new is submitted.
    """

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._queue: asyncio.Queue[ItemRow] = asyncio.Queue(max(1, ctx.opts.upload_concurrency))
        self._deferrals: dict[int, int] = {}

    async def feed(self) -> None:
        after = 0
        while self.ctx.halted is None and (rows := await self.ctx.journal.items_in_stages(SUBMIT_STAGES, after, CHUNK)):
            for row in rows:
                after = row.seq
                while len(self.ctx.holding) >= self.ctx.opts.max_active and self.ctx.halted is None:
                    self.ctx.slot_freed.clear()
                    await self.ctx.slot_freed.wait()
                if self.ctx.halted is not None:
                    return
                self.ctx.holding.add(row.seq)
                await self._queue.put(row)

    async def worker(self) -> None:
        ctx = self.ctx
        while True:
            row = await self._queue.get()
            if ctx.halted is not None:  # out of credits: leave it pending for the run after a top-up
                ctx.park(row.seq, converting=False)
                continue
            work = Work(row, row.stage)
            ctx.busy_submits += 1
            try:
                await self._submit(work)
            except _Deferred as deferred:
                await self._defer(work, deferred)
            except StopJob as stop:
                if not stop.out_of_credits:
                    raise
                ctx.halt(stop)
                ctx.park(row.seq, converting=False)
            finally:
                ctx.busy_submits -= 1
                ctx.check_end()

    async def _defer(self, work: Work, deferred: _Deferred) -> None:
        """Come back to the item after a back-off, or leave it pending for the next run."""
        ctx, seq = self.ctx, work.row.seq
        n = self._deferrals[seq] = self._deferrals.get(seq, 0) + 1
        retry_in = ctx.backoff(n) if n <= ctx.opts.max_deferrals else None
        await ctx.emit(
            ItemPostponed(
                key=work.row.key, name=work.row.name, stage=deferred.stage, reason=deferred.reason, retry_in=retry_in
            )
        )
        if retry_in is None:
            ctx.park(seq, converting=False)
            return

        async def again() -> None:
            if ctx.halted is not None:
                ctx.park(seq, converting=False)
            else:
                await self._queue.put(await ctx.journal.item(seq))

        ctx.later(retry_in, again)

    async def _submit(self, work: Work) -> None:
        try:
            await self._create_and_order(work)
        except BaseException:
            if work.unjournaled is not None:  # stopped between the original and the order's intent
                original_id, work.unjournaled = work.unjournaled, None
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):  # else the re-run reconciles
                    await self.ctx.journal.set_created(work.row.seq, original_id)
            raise

    async def _create_and_order(self, work: Work) -> None:
        targets = self.ctx.kind.targets_for(work.row)
        if work.stage in (ItemStage.PENDING, ItemStage.CREATING):
            # With conversions to order, the original's id is journaled with the order's intent
            # (``set_ordering``): one write on the item's row instead of two.
            original_id = await self._make_original(work, journal=not targets)
            if original_id is None:
                return
            work.row = msgspec.structs.replace(work.row, original_id=original_id)
        assert work.row.original_id is not None
        if not targets:  # a TTS original without conversions is itself the output
            await self.ctx.journal.set_converting(work.row.seq, [(-1, work.row.original_id)], self.ctx.round)
            self._converting(work)
            return
        await self._order(work, targets)

    def _converting(self, work: Work) -> None:
        """The item waits for its conversions: the poller has work, and the row stays at hand (``ctx.rows``)."""
        self.ctx.move(work.row.seq, work.stage, ItemStage.CONVERTING)
        work.stage = ItemStage.CONVERTING
        self.ctx.rows[work.row.seq] = msgspec.structs.replace(work.row, stage=ItemStage.CONVERTING)
        self.ctx.work_ready.set()

    async def _set_stage(self, work: Work, stage: ItemStage, *, intent: bool = False) -> None:
        await self.ctx.journal.set_stage(work.row.seq, stage, intent=intent)
        self.ctx.move(work.row.seq, work.stage, stage)
        work.stage = stage

    async def _attempts(
        self,
        work: Work,
        step: Step,
        intent_stage: ItemStage,
        attempt: Callable[[], Coroutine[Any, Any, T]],
        reconcile: Callable[[], Awaitable[T | None]],
    ) -> tuple[T, bool] | None:
        """Run a non-idempotent step; ``(result, reconciled)``, or ``None`` if the server refused the item.

        While the journal holds the step's intent (an earlier attempt, or run, may have
        been carried out) the server is asked first, and nothing is sent until it could
        answer.  Raises ``_Deferred`` after ``max_attempts`` transient failures.
        """
        last = "no attempt made"
        for n in range(1, self.ctx.opts.max_attempts + 1):
            try:
                if work.stage == intent_stage:
                    found = await _reconcile(reconcile)
                    if found is not None:
                        return found, True
                return await self.ctx.critical(attempt()), False
            except (Uncertain, Transient) as exc:
                last = reason(exc)
            except ItemRefused as exc:
                await self.ctx.fail(work, step, reason(exc))
                return None
            if n < self.ctx.opts.max_attempts:
                await self.ctx.pause(self.ctx.opts.retry_delay * n)
        raise _Deferred(step, f"{self.ctx.opts.max_attempts} attempts failed: {last}")

    # -- the original ----------------------------------------------------------------------

    async def _make_original(self, work: Work, *, journal: bool) -> str | None:
        """Upload (or synthesize) the item's original; its id, journaled ``created`` if ``journal``."""
        row = work.row

        async def reconcile() -> Recording | None:
            assert row.folder_id is not None and row.label is not None
            return await find_original(self.ctx.client, row.folder_id, row.label, row.size, row.intent_at)

        async def attempt() -> Recording:
            await self._set_stage(work, ItemStage.CREATING, intent=True)
            try:
                recording = await self.ctx.kind.create_original(row)
            except Exception as exc:
                outcome = classify(exc)
                if not isinstance(outcome, Uncertain):
                    await self._set_stage(work, ItemStage.PENDING)
                raise outcome from exc
            await self._record_original(work, recording.id, reconciled=False, emit=False, journal=journal)
            return recording

        result = await self._attempts(work, Step.UPLOAD, ItemStage.CREATING, attempt, reconcile)
        if result is None:
            return None
        recording, reconciled = result
        if reconciled:
            await self._record_original(work, recording.id, reconciled=True, journal=journal)
        elif self.ctx.emit_event is not None:
            await self.ctx.emit(self.ctx.kind.created_event(row, recording.id, False))
        return recording.id

    async def _record_original(
        self, work: Work, original_id: str, *, reconciled: bool, journal: bool, emit: bool = True
    ) -> None:
        if journal:
            await self.ctx.journal.set_created(work.row.seq, original_id)
        else:
            work.unjournaled = original_id
        self.ctx.move(work.row.seq, work.stage, ItemStage.CREATED)
        work.stage = ItemStage.CREATED
        if emit and self.ctx.emit_event is not None:
            await self.ctx.emit(self.ctx.kind.created_event(work.row, original_id, reconciled))

    # -- the order -------------------------------------------------------------------------

    async def _order(self, work: Work, targets: Sequence[ResolvedTarget]) -> None:
        row = work.row
        original_id = row.original_id
        assert original_id is not None
        have: dict[int, str] = {}

        async def reconcile() -> dict[int, str] | None:
            nonlocal have  # conversions an earlier order made are not ordered again
            have = await find_conversions(self.ctx.client, original_id, targets)
            return have if len(have) == len(targets) else None

        async def attempt() -> dict[int, str]:
            missing = [i for i in range(len(targets)) if i not in have]
            if work.unjournaled is not None:
                work.unjournaled = None  # asked once: if the journal fails, nothing more is written
                await self.ctx.journal.set_ordering(row.seq, original_id)
                self.ctx.move(row.seq, work.stage, ItemStage.ORDERING)
                work.stage = ItemStage.ORDERING
            else:
                await self._set_stage(work, ItemStage.ORDERING, intent=True)
            try:
                orders = await self.ctx.client.orders.create(
                    original_id,
                    [targets[i].conversion() for i in missing],
                    calibration_id=self.ctx.opts.calibration_id,
                    use_calibration=self.ctx.opts.use_calibration,
                )
            except Exception as exc:
                outcome = classify(exc)
                if not isinstance(outcome, Uncertain):
                    await self._set_stage(work, ItemStage.CREATED)
                raise outcome from exc
            placed = {**have, **{i: order.conversion_id for i, order in zip(missing, orders, strict=False)}}
            await self._record_order(work, placed, reconciled=False, emit=False)
            return placed

        result = await self._attempts(work, Step.ORDER, ItemStage.ORDERING, attempt, reconcile)
        if result is None:
            return
        placed, reconciled = result
        if reconciled:
            await self._record_order(work, placed, reconciled=True)
        elif self.ctx.emit_event is not None:
            await self.ctx.emit(
                ItemOrdered(key=row.key, name=row.name, original_id=original_id, conversion_ids=tuple(placed.values()))
            )

    async def _record_order(self, work: Work, placed: dict[int, str], *, reconciled: bool, emit: bool = True) -> None:
        await self.ctx.journal.set_converting(work.row.seq, sorted(placed.items()), self.ctx.round)
        self._converting(work)
        if emit and self.ctx.emit_event is not None:
            assert work.row.original_id is not None
            await self.ctx.emit(
                ItemOrdered(
                    key=work.row.key,
                    name=work.row.name,
                    original_id=work.row.original_id,
                    conversion_ids=tuple(placed[i] for i in sorted(placed)),
                    reconciled=reconciled,
                )
            )


class _Deferred(Exception):
    """A step failed transiently ``max_attempts`` times: try the item again later."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


async def _reconcile(reconcile: Callable[[], Awaitable[T | None]]) -> T | None:
    """Ask the server what an uncertain request did; ``None`` if it was not done.

    Raises ``Transient`` when the server could not be asked: nothing is sent before it answers.
    """
    try:
        return await reconcile()
    except STOP_ERRORS as exc:
        raise StopJob(exc) from exc
    except VoiceAPIError as exc:
        raise Transient(f"could not check what an earlier attempt did: {reason(exc)}") from exc

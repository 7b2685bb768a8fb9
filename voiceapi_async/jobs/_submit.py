"""Submission: create each item's original (upload or TTS), then order all its conversions at once.

Both requests are non-idempotent: each is preceded by a durable intent (``creating``,
``ordering``) and runs as a critical section.  When its fate is unknown, or an earlier
run left the intent behind, the server is asked (``_reconcile``) before sending again.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from .._errors import AuthenticationError, InsufficientCreditsError, VoiceAPIError
from .._models import Recording
from ._context import CHUNK, EngineContext, Work
from ._events import ItemOrdered
from ._outcomes import ItemRefused, StopJob, Transient, Uncertain, classify, reason
from ._reconcile import find_conversions, find_original
from ._stages import SUBMIT_STAGES, ItemStage, Step
from ._store import ItemRow
from ._targets import ResolvedTarget

__all__ = ["Submitter"]

T = TypeVar("T")


class Submitter:
    """Feeds items still to submit (at most ``max_active`` held) to ``upload_concurrency`` workers."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self._queue: asyncio.Queue[ItemRow] = asyncio.Queue(max(1, ctx.opts.upload_concurrency))

    async def feed(self) -> None:
        after = 0
        while rows := await self.ctx.journal.items_in_stages(SUBMIT_STAGES, after, CHUNK):
            for row in rows:
                after = row.seq
                while len(self.ctx.holding) >= self.ctx.opts.max_active:
                    self.ctx.slot_freed.clear()
                    await self.ctx.slot_freed.wait()
                self.ctx.holding.add(row.seq)
                await self._queue.put(row)

    async def worker(self) -> None:
        while True:
            row = await self._queue.get()
            work = Work(row, row.stage)
            await self._submit(work)

    async def _submit(self, work: Work) -> None:
        if work.stage in (ItemStage.PENDING, ItemStage.CREATING):
            original_id = await self._make_original(work)
            if original_id is None:
                return
            work.row = dataclasses.replace(work.row, original_id=original_id)
        assert work.row.original_id is not None
        targets = self.ctx.kind.targets_for(work.row)
        if not targets:  # a TTS original without conversions is itself the output
            await self.ctx.journal.set_converting(work.row.seq, [(-1, work.row.original_id)], self.ctx.round)
            self.ctx.move(work.row.seq, work.stage, ItemStage.CONVERTING)
            self.ctx.work_ready.set()
            return
        await self._order(work, targets)

    async def _set_stage(self, work: Work, stage: ItemStage, *, intent: bool = False) -> None:
        await self.ctx.journal.set_stage(work.row.seq, stage, intent=intent)
        self.ctx.move(work.row.seq, work.stage, stage)
        work.stage = stage

    async def _attempts(
        self,
        work: Work,
        step: Step,
        attempt: Callable[[], Coroutine[Any, Any, T]],
        reconcile: Callable[[], Awaitable[T | None]],
    ) -> tuple[T, bool] | None:
        """Run a non-idempotent step with reconciliation; ``(result, reconciled)`` or ``None`` if it failed."""
        last = "no attempt made"
        for n in range(1, self.ctx.opts.max_attempts + 1):
            try:
                return await self.ctx.critical(attempt()), False
            except Uncertain as exc:
                last = reason(exc)
                found = await _try_reconcile(reconcile)
                if found is not None:
                    return found, True
            except Transient as exc:
                last = reason(exc)
            except ItemRefused as exc:
                await self.ctx.fail(work, step, reason(exc))
                return None
            if n < self.ctx.opts.max_attempts:
                await asyncio.sleep(self.ctx.opts.retry_delay * n)
        await self.ctx.fail(work, step, f"gave up after {self.ctx.opts.max_attempts} attempts: {last}")
        return None

    # -- the original ----------------------------------------------------------------------

    async def _make_original(self, work: Work) -> str | None:
        row = work.row

        async def reconcile() -> Recording | None:
            assert row.folder_id is not None and row.label is not None
            return await find_original(self.ctx.client, row.folder_id, row.label, row.size, row.intent_at)

        if work.stage is ItemStage.CREATING:  # an earlier run sent it, maybe: look before sending again
            found = await _try_reconcile(reconcile)
            if found is not None:
                await self._record_original(work, found.id, reconciled=True)
                return found.id

        async def attempt() -> Recording:
            await self._set_stage(work, ItemStage.CREATING, intent=True)
            try:
                recording = await self.ctx.kind.create_original(row)
            except Exception as exc:
                outcome = classify(exc)
                if not isinstance(outcome, Uncertain):
                    await self._set_stage(work, ItemStage.PENDING)
                raise outcome from exc
            await self._record_original(work, recording.id, reconciled=False, emit=False)
            return recording

        result = await self._attempts(work, Step.UPLOAD, attempt, reconcile)
        if result is None:
            return None
        recording, reconciled = result
        if reconciled:
            await self._record_original(work, recording.id, reconciled=True)
        else:
            await self.ctx.emit(self.ctx.kind.created_event(row, recording.id, False))
        return recording.id

    async def _record_original(self, work: Work, original_id: str, *, reconciled: bool, emit: bool = True) -> None:
        await self.ctx.journal.set_created(work.row.seq, original_id)
        self.ctx.move(work.row.seq, work.stage, ItemStage.CREATED)
        work.stage = ItemStage.CREATED
        if emit:
            await self.ctx.emit(self.ctx.kind.created_event(work.row, original_id, reconciled))

    # -- the order -------------------------------------------------------------------------

    async def _order(self, work: Work, targets: Sequence[ResolvedTarget]) -> None:
        row = work.row
        original_id = row.original_id
        assert original_id is not None
        have: dict[int, str] = {}

        async def reconcile() -> dict[int, str] | None:
            found = await find_conversions(self.ctx.client, original_id, targets)
            return found if len(found) == len(targets) else None

        if work.stage is ItemStage.ORDERING:
            found = await _try_reconcile(lambda: find_conversions(self.ctx.client, original_id, targets))
            have = found or {}
            if len(have) == len(targets):
                await self._record_order(work, have, reconciled=True)
                return
        missing = [i for i in range(len(targets)) if i not in have]

        async def attempt() -> dict[int, str]:
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

        result = await self._attempts(work, Step.ORDER, attempt, reconcile)
        if result is None:
            return
        placed, reconciled = result
        if reconciled:
            await self._record_order(work, placed, reconciled=True)
        else:
            await self.ctx.emit(
                ItemOrdered(key=row.key, name=row.name, original_id=original_id, conversion_ids=tuple(placed.values()))
            )

    async def _record_order(self, work: Work, placed: dict[int, str], *, reconciled: bool, emit: bool = True) -> None:
        await self.ctx.journal.set_converting(work.row.seq, sorted(placed.items()), self.ctx.round)
        self.ctx.move(work.row.seq, work.stage, ItemStage.CONVERTING)
        work.stage = ItemStage.CONVERTING
        self.ctx.work_ready.set()
        if emit:
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


async def _try_reconcile(reconcile: Callable[[], Awaitable[T | None]]) -> T | None:
    """Ask the server what an uncertain request did; ``None`` if it was not done or we could not ask."""
    try:
        return await reconcile()
    except (AuthenticationError, InsufficientCreditsError) as exc:
        raise StopJob(exc) from exc
    except VoiceAPIError:
        return None  # could not ask: the caller counts an attempt and asks again later

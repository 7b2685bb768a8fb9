"""Retrying errored conversions (``orders.retry``), one at a time, each as a critical section.

The poller schedules a retry when it sees a conversion in error with retries left; the
output's ``retrying`` stage is the durable intent.  A retry counts against
``max_conversion_retries`` only when the server carried it out: an answer, or, when the
outcome is unknown (5xx, a connection broken after sending), the recording seen out of
its error state (asked at once, else by the next poll).  Retries that failed transiently
are sent again from later polls, backing off after every ``max_attempts`` failures.
"""

from __future__ import annotations

import asyncio
import enum

from .._errors import APIStatusError, VoiceAPIError
from .._models import RecordingState
from ._context import EngineContext
from ._events import ItemRetried
from ._outcomes import ItemRefused, StopJob, Uncertain, classify, reason
from ._stages import OutputStage
from ._store import OutputRow

__all__ = ["Retrier"]


class _Done(enum.Enum):
    ACTED = "acted"
    NOT_DONE = "not done"


class Retrier:
    """The retry queue and its worker; ``conversion_retries`` counts the retries the server carried out."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.conversion_retries = 0
        self._queue: asyncio.Queue[tuple[OutputRow, str]] = asyncio.Queue()
        self._pending: set[str] = set()
        self._failures: dict[str, int] = {}
        self._answers = 0  # retries answered so far (a logical clock the poller reads before listing)
        self._answered: dict[str, int] = {}  # recording id -> the clock when its last retry was answered

    def mark(self) -> int:
        """Where the retries stand now; a listing begun after it reflects every retry answered before it."""
        return self._answers

    def answered_since(self, recording_id: str, mark: int) -> bool:
        """Whether a retry of this recording was answered after ``mark``: a listing from before it is stale."""
        return self._answered.get(recording_id, -1) > mark

    def is_pending(self, recording_id: str) -> bool:
        """Whether a retry of this recording is queued, in flight or backing off (the poller must not schedule another)."""
        return recording_id in self._pending

    async def schedule(self, recording_id: str, out: OutputRow, error: str) -> None:
        self._pending.add(recording_id)
        await self._queue.put((out, error))

    async def loop(self) -> None:
        ctx = self.ctx
        while True:
            out, error = await self._queue.get()
            rid = out.recording_id or ""
            if ctx.halted is not None:  # out of credits: the conversion waits for the run after a top-up
                ctx.park(out.item_seq, converting=True)
                continue
            try:
                outcome = await ctx.critical(self._retry_once(out))
            except StopJob as stop:
                self._answer(rid)
                if not stop.out_of_credits:
                    raise
                ctx.halt(stop)
                ctx.park(out.item_seq, converting=True)
                continue
            self._answer(rid)
            if outcome is _Done.ACTED:
                self._pending.discard(rid)
                self._failures.pop(rid, None)
                await self._announce(out, error)
            elif isinstance(outcome, str):
                self._pending.discard(rid)
                await ctx.output_failed(out, f"retry refused: {outcome}")
            else:
                self._back_off(out)

    def _answer(self, recording_id: str) -> None:
        """Stamp the retry's answer (before ``is_pending`` turns false): the poller discards older listings of it."""
        self._answers += 1
        self._answered[recording_id] = self._answers

    async def acted(self, out: OutputRow, error: str) -> None:
        """Count a retry the server carried out that only a poll revealed (journal, summary, event)."""
        await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING, add_retry=True)
        await self._announce(out, error)

    async def _announce(self, out: OutputRow, error: str) -> None:
        self.conversion_retries += 1
        item = await self.ctx.item(out.item_seq)
        await self.ctx.emit(
            ItemRetried(
                key=item.key,
                name=item.name,
                target=self.ctx.target_name(item, out.target),
                recording_id=out.recording_id or "",
                attempt=out.retries + 1,
                error=error,
            )
        )

    def _back_off(self, out: OutputRow) -> None:
        """A retry that was not carried out: the next poll schedules it again, after a pause every ``max_attempts``."""
        ctx, rid = self.ctx, out.recording_id or ""
        n = self._failures[rid] = self._failures.get(rid, 0) + 1
        rounds, rest = divmod(n, ctx.opts.max_attempts)
        if rest:
            self._pending.discard(rid)
        elif rounds > ctx.opts.max_deferrals:
            ctx.park(out.item_seq, converting=True)  # stays pending (and unscheduled) for the next run
        else:

            async def release() -> None:
                self._pending.discard(rid)

            ctx.later(ctx.backoff(rounds), release)

    async def _retry_once(self, out: OutputRow) -> _Done | str:
        """``orders.retry`` with its intent journaled: acted, not done, or why the server refused it."""
        assert out.recording_id is not None
        journal = self.ctx.journal
        await journal.set_output(out.item_seq, out.target, OutputStage.RETRYING)
        try:
            await self.ctx.client.orders.retry(out.recording_id)
        except Exception as exc:
            outcome = classify(exc)
            if isinstance(outcome, StopJob):
                await journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING)
                raise outcome from exc
            if isinstance(outcome, ItemRefused) and isinstance(exc, APIStatusError) and exc.status_code == 400:
                # "only failed conversions can be retried": an earlier, uncertain retry took.
                return await self._acted(out)
            if isinstance(outcome, ItemRefused):
                return reason(exc)
            if isinstance(outcome, Uncertain):
                return await self._reconcile(out)
            await journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING)
            return _Done.NOT_DONE
        return await self._acted(out)

    async def _acted(self, out: OutputRow) -> _Done:
        await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING, add_retry=True)
        return _Done.ACTED

    async def _reconcile(self, out: OutputRow) -> _Done:
        """After an unknown outcome: out of its error state, the retry was carried out."""
        assert out.recording_id is not None
        try:
            recording = await self.ctx.client.recordings.get(out.recording_id)
        except VoiceAPIError:
            return _Done.NOT_DONE  # stays "retrying": the next poll decides
        if recording.state == RecordingState.ERROR:
            await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING)
            return _Done.NOT_DONE
        return await self._acted(out)

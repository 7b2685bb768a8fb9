"""Retrying errored conversions (``orders.retry``), one at a time, each as a critical section.

The poller schedules a retry when it sees a conversion in error with retries left; the
output's ``retrying`` stage is the durable intent, and the next poll settles an uncertain one.
"""

from __future__ import annotations

import asyncio

from .._errors import APIStatusError
from ._context import EngineContext
from ._events import ItemRetried
from ._outcomes import ItemRefused, StopJob, classify, reason
from ._stages import OutputStage
from ._store import OutputRow

__all__ = ["Retrier"]


class Retrier:
    """The retry queue and its worker; ``conversion_retries`` counts the retries the server accepted."""

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.conversion_retries = 0
        self._queue: asyncio.Queue[tuple[OutputRow, str]] = asyncio.Queue()
        self._pending: set[str] = set()

    def is_pending(self, recording_id: str) -> bool:
        """Whether a retry of this recording is queued or in flight (the poller must not schedule another)."""
        return recording_id in self._pending

    async def schedule(self, recording_id: str, out: OutputRow, error: str) -> None:
        self._pending.add(recording_id)
        await self._queue.put((out, error))

    async def loop(self) -> None:
        while True:
            out, error = await self._queue.get()
            try:
                refused = await self.ctx.critical(self._retry_once(out))
            finally:
                self._pending.discard(out.recording_id or "")
            item = await self.ctx.journal.item(out.item_seq)
            if refused is not None:
                await self.ctx.output_failed(out, f"retry refused: {refused}")
            elif out.recording_id is not None:
                await self.ctx.emit(
                    ItemRetried(
                        key=item.key,
                        name=item.name,
                        target=self.ctx.target_name(item, out.target),
                        recording_id=out.recording_id,
                        attempt=out.retries + 1,
                        error=error,
                    )
                )

    async def _retry_once(self, out: OutputRow) -> str | None:
        """``orders.retry`` with its intent journaled; returns why the server refused it, if it did."""
        assert out.recording_id is not None
        await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.RETRYING, add_retry=True)
        try:
            await self.ctx.client.orders.retry(out.recording_id)
        except Exception as exc:
            outcome = classify(exc)
            if isinstance(outcome, StopJob):
                raise outcome from exc
            if isinstance(outcome, ItemRefused) and isinstance(exc, APIStatusError) and exc.status_code == 400:
                # "only failed conversions can be retried": an earlier retry already took.
                await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING)
                return None
            if isinstance(outcome, ItemRefused):
                return reason(exc)
            return None  # uncertain or transient: stays "retrying"; the next poll decides
        await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.PROCESSING)
        self.conversion_retries += 1
        return None

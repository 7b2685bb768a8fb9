"""Watching conversions: the project polled in bulk (the client's ``BulkPoller``), each state applied to the journal.

A converted output goes to the download queue; an errored one to the retry queue (or
fails once its retries are spent); an original that failed processing fails its item.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import msgspec

from .._errors import AuthenticationError, InsufficientCreditsError, NotFoundError, VoiceAPIError
from .._models import Recording, RecordingState
from .._resources._polling import Subscription
from ._context import EngineContext, Work
from ._events import ItemConverted
from ._outcomes import StopJob, guard
from ._retry import Retrier
from ._stages import WATCHED_OUTPUT_STAGES, ItemStage, OutputStage, Step
from ._store import ItemRow, OutputRow

__all__ = ["Poller"]

_MAX_DIRECT_GETS = 50


class Poller:
    """The job's subscriber of the client's ``BulkPoller``: applies each polled state to the journal."""

    def __init__(
        self,
        ctx: EngineContext,
        project_id: str,
        retrier: Retrier,
        downloads: asyncio.Queue[tuple[OutputRow, str]],
    ) -> None:
        self.ctx = ctx
        self.project_id = project_id
        self._retrier = retrier
        self._downloads = downloads
        #: Per recording missing from the listings, the round it was last asked for directly.
        self._asked: dict[str, int] = {}

    async def loop(self) -> None:
        """While anything is watched, join the client's rounds over the project (shared with ``watch()``)."""
        opts = self.ctx.opts
        subscription = self.ctx.client.recordings._poller.subscribe(
            project_id=self.project_id,
            interval=opts.poll_interval,
            max_interval=opts.max_poll_interval,
            backoff=opts.poll_backoff,
        )
        async with subscription as sub:
            reset = False
            while True:
                if not await self.ctx.journal.has_watched():
                    self.ctx.work_ready.clear()
                    if not await self.ctx.journal.has_watched():
                        await self.ctx.work_ready.wait()
                        reset = True
                    continue
                self.ctx.round += 1
                try:
                    changed = await self._poll_project(sub, reset)
                except StopJob:
                    raise
                except VoiceAPIError:
                    changed = False  # the SDK already retried; try again next round (backing off)
                reset = False
                if changed:
                    sub.changed()

    async def _poll_project(self, sub: Subscription, reset: bool) -> bool:
        """One round: the pages of the shared newest-first pass over the project, each looked up in the journal.

        The pass goes on until every output watched since before this round was listed
        (one page answers for up to 200 recordings of any of the job's folders); those it
        did not list (moved, deleted) are then fetched one by one.
        """
        changed = False
        mark = self._retrier.mark()  # before the listing: what it shows predates any retry answered later
        pages = sub.round(await self.ctx.journal.watched(self.ctx.round), reset=reset)
        try:
            async for page in pages:
                errored = [r.id for r in page if r.state == RecordingState.ERROR]
                outputs, originals = await self.ctx.journal.lookup([r.id for r in page], errored)
                for recording in page:
                    out = outputs.get(recording.id)
                    if out is not None:
                        changed |= (await self._observe(out, recording, mark))[1]
                    elif (item := originals.get(recording.id)) is not None:
                        changed |= await self._observe_original(item, recording)
        except (AuthenticationError, InsufficientCreditsError) as exc:
            raise StopJob(exc) from exc
        except Exception:
            async for _ in pages:  # a round is consumed to its end, even when a page's work failed
                pass
            raise
        if sub.missing:
            changed |= await self._fetch_missing(self._next_missing(sub.missing))
        return changed

    def _next_missing(self, missing: set[str]) -> list[str]:
        """The (at most ``_MAX_DIRECT_GETS``) missing recordings to ask for this round: those asked longest ago.

        Taking always the first ids in order would ask for the same ones each round while
        they stay pending, and never for the others.
        """
        asked = self._asked
        chosen = sorted(missing, key=lambda rid: (asked.get(rid, -1), rid))[:_MAX_DIRECT_GETS]
        for rid in [rid for rid in asked if rid not in missing]:
            del asked[rid]
        for rid in chosen:
            asked[rid] = self.ctx.round
        return chosen

    async def _fetch_missing(self, recording_ids: Sequence[str]) -> bool:
        changed = False
        mark = self._retrier.mark()
        outputs, _ = await self.ctx.journal.lookup(list(recording_ids))
        for rid, out in outputs.items():
            try:
                recording = await guard(self.ctx.client.recordings.get(rid))
            except NotFoundError:
                await self.ctx.output_failed(out, "the converted recording disappeared from the server")
                changed = True
                continue
            changed |= (await self._observe(out, recording, mark))[1]
        return changed

    async def _observe(self, out: OutputRow, recording: Recording, mark: int) -> tuple[bool, bool]:
        """Apply a polled state; returns (still pending, something changed).

        A retry in flight, or answered since ``mark`` (when the listing began), makes both the
        listed state and the journal row read with it stale: the next round decides.  Acting
        on them re-sent a retry the server had just carried out (counted twice, or beyond
        ``max_conversion_retries``).
        """
        if out.stage not in WATCHED_OUTPUT_STAGES:
            return False, False
        if self._retrier.is_pending(recording.id) or self._retrier.answered_since(recording.id, mark):
            return True, False
        state = recording.state
        if out.stage is OutputStage.RETRYING and state != RecordingState.ERROR:
            # An uncertain retry did reach the server: it counts.
            await self._retrier.acted(out, "conversion failed")
            out = msgspec.structs.replace(out, stage=OutputStage.PROCESSING, retries=out.retries + 1)
        if state == RecordingState.DONE:
            await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.CONVERTED, url=recording.url)
            if self.ctx.emit_event is not None:
                item = await self.ctx.item(out.item_seq)
                target = self.ctx.target_name(item, out.target)
                event = ItemConverted(key=item.key, name=item.name, target=target, recording_id=recording.id)
                await self.ctx.emit(event)
            converted = msgspec.structs.replace(out, stage=OutputStage.CONVERTED, url=recording.url)
            await self._downloads.put((converted, recording.file_name or ""))
            return False, True
        if state == RecordingState.ERROR:
            if out.retries < self.ctx.opts.max_conversion_retries:
                if self.ctx.halted is not None:  # a retry is paid: it waits for the run after a top-up
                    self.ctx.park(out.item_seq, converting=True)
                    return True, False
                await self._retrier.schedule(recording.id, out, recording.error or "conversion failed")
                return True, True
            await self.ctx.output_failed(
                out, f"conversion failed: {recording.error or 'error'} (retried {out.retries}x)"
            )
            return False, True
        return True, False

    async def _observe_original(self, item: ItemRow, recording: Recording) -> bool:
        if recording.state != RecordingState.ERROR or item.stage is not ItemStage.CONVERTING:
            return False
        await self.ctx.journal.set_original_state(item.seq, str(recording.state))
        await self.ctx.fail(
            Work(item, item.stage), Step.CONVERT, f"the original failed processing: {recording.error or 'error'}"
        )
        return True

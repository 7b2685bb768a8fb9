"""Watching conversions: the whole project polled in bulk, each polled state applied to the journal.

A converted output goes to the download queue; an errored one to the retry queue (or
fails once its retries are spent); an original that failed processing fails its item.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence

from .._errors import AuthenticationError, InsufficientCreditsError, NotFoundError, VoiceAPIError
from .._models import Recording, RecordingState
from .._resources._polling import PollInterval, scan_recordings
from ._context import EngineContext, Work
from ._events import ItemConverted
from ._outcomes import StopJob, guard
from ._retry import Retrier
from ._stages import WATCHED_OUTPUT_STAGES, ItemStage, OutputStage, Step
from ._store import ItemRow, OutputRow

__all__ = ["Poller"]

_MAX_DIRECT_GETS = 50


class Poller:
    """Polls while anything is watched; ``scan_from`` (journaled) is where each project's next pass starts."""

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
        self._scan_from: dict[str, int] = {}

    async def restore(self) -> None:
        """Read where the last pass stopped; a fresh job skips the project's history."""
        self._scan_from = await self.ctx.journal.get_meta("scan_from") or {}
        if self.project_id not in self._scan_from and not await self.ctx.journal.any_created():
            # A fresh job: none of its recordings exist yet, so the first pass can skip the project's history.
            page = await guard(self.ctx.client.recordings.list(project_id=self.project_id, limit=1))
            self._scan_from[self.project_id] = page.pagination.count
            await self.ctx.journal.set_meta({"scan_from": self._scan_from})

    async def loop(self) -> None:
        opts = self.ctx.opts
        interval = PollInterval(opts.poll_interval, opts.max_poll_interval, opts.poll_backoff)
        while True:
            if not await self.ctx.journal.has_watched():
                self.ctx.work_ready.clear()
                if not await self.ctx.journal.has_watched():
                    await self.ctx.work_ready.wait()
                    interval.reset()
                continue
            await asyncio.sleep(interval.current)
            self.ctx.round += 1
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
        mark = self._retrier.mark()  # before the listing: what it shows predates any retry answered later
        pages = scan_recordings(self.ctx.client.recordings, project_id=self.project_id, offset=start)
        try:
            async with contextlib.aclosing(pages):
                async for page_offset, page in pages:
                    count = page.pagination.count
                    errored = [r.id for r in page.list if r.state == RecordingState.ERROR]
                    outputs, originals = await self.ctx.journal.lookup([r.id for r in page.list], errored)
                    for i, recording in enumerate(page.list):
                        out = outputs.get(recording.id)
                        if out is not None:
                            seen.add(recording.id)
                            pending, did = await self._observe(out, recording, mark)
                            changed |= did
                            if pending and first_pending is None:
                                first_pending = page_offset + i
                        elif (item := originals.get(recording.id)) is not None:
                            changed |= await self._observe_original(item, recording)
                    offset = page_offset + len(page.list)
        except (AuthenticationError, InsufficientCreditsError) as exc:
            raise StopJob(exc) from exc
        next_start = first_pending if first_pending is not None else min(offset, count)
        missing = [rid for rid in await self.ctx.journal.watched(self.ctx.round) if rid not in seen]
        if missing:
            if start > 0:
                next_start = 0
            else:
                changed |= await self._fetch_missing(missing[:_MAX_DIRECT_GETS])
        if next_start != start:
            self._scan_from[self.project_id] = next_start
            await self.ctx.journal.set_meta({"scan_from": self._scan_from})
        return changed

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
            out = dataclasses.replace(out, stage=OutputStage.PROCESSING, retries=out.retries + 1)
        if state == RecordingState.DONE:
            await self.ctx.journal.set_output(out.item_seq, out.target, OutputStage.CONVERTED, url=recording.url)
            if self.ctx.emit_event is not None:
                item = await self.ctx.journal.item(out.item_seq)
                target = self.ctx.target_name(item, out.target)
                event = ItemConverted(key=item.key, name=item.name, target=target, recording_id=recording.id)
                await self.ctx.emit(event)
            await self._downloads.put((dataclasses.replace(out, url=recording.url), recording.file_name or ""))
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

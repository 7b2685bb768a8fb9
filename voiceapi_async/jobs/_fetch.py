"""Downloads: converted outputs written to the output directory, and downloaded files checked on resume.

Downloading is idempotent, so it needs no critical section: a killed download leaves a
partial file (removed before the output is downloaded again) and the output stays ``converted``.
"""

from __future__ import annotations

import asyncio
import glob
import os
from pathlib import Path
from urllib.parse import urlsplit

from .._errors import NotFoundError, PermissionDeniedError, VoiceAPIError
from ._context import CHUNK, EngineContext, suffix_of
from ._events import ItemDownloaded, ItemPostponed
from ._outcomes import guard, reason
from ._stages import ItemStage, OutputStage, Step
from ._store import ItemRow, OutputRow

__all__ = ["Downloader"]


class Downloader:
    """``queue`` takes ``(output, server file name)`` from the poller; ``download_concurrency`` workers drain it."""

    def __init__(self, ctx: EngineContext, output_dir: Path) -> None:
        self.ctx = ctx
        self.output_dir = output_dir
        self._output = str(output_dir)
        self.queue: asyncio.Queue[tuple[OutputRow, str]] = asyncio.Queue(max(8, ctx.opts.download_concurrency * 4))
        self._downloading: set[tuple[int, int]] = set()
        self._deferrals: dict[tuple[int, int], int] = {}
        #: Outputs of items an earlier run ordered whose partial files this run removed (once each).
        self._cleaned: set[tuple[int, int]] = set()

    async def reopen_missing(self) -> None:
        """Outputs an earlier run downloaded whose file is gone or has another size: download them again."""
        after = (0, -1)
        while rows := await self.ctx.journal.outputs_in_stage(OutputStage.DOWNLOADED, after, 256):
            after = (rows[-1].item_seq, rows[-1].target)
            for out in rows:
                if not await asyncio.to_thread(_file_matches, out.path, out.size):
                    await self.ctx.journal.reopen_output(out.item_seq, out.target)

    async def feed(self) -> None:
        """Results a previous run saw converted but did not download."""
        after = (0, -1)
        while rows := await self.ctx.journal.outputs_in_stage(OutputStage.CONVERTED, after, CHUNK):
            after = (rows[-1].item_seq, rows[-1].target)
            for out in rows:
                await self.queue.put((out, ""))

    async def worker(self) -> None:
        while True:
            out, file_name = await self.queue.get()
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
        journal = self.ctx.journal
        # Outputs are queued only once journaled ``converted`` (by the poller, or the feed of an
        # earlier run's), one at a time (``_downloading``), and nothing but this worker changes a
        # converted output, except the end of its item (``fail_item`` fails its outputs too): the
        # item's stage is the one thing to check again (an item in ``ctx.rows`` is converting).
        slot = (out.item_seq, out.target)
        item = self.ctx.rows.get(out.item_seq)
        earlier = item is None  # ordered by an earlier run (or parked): read from the journal
        if item is None:
            item = await journal.item(out.item_seq)
        if item.stage is not ItemStage.CONVERTING or out.stage is not OutputStage.CONVERTED or out.recording_id is None:
            return
        url = out.url
        relative = self.ctx.kind.output_path(item, out.target, _extension(url, file_name))
        destination = os.path.join(self._output, relative)
        if earlier and slot not in self._cleaned:
            # A killed run may have left a partial file of this output, whether or not its
            # ``converted`` (a plain write) was committed; this run's downloads remove their own.
            self._cleaned.add(slot)
            await asyncio.to_thread(_remove_partials, Path(destination))
        last = ""
        max_attempts = self.ctx.opts.max_attempts
        for attempt in range(1, max_attempts + 1):
            try:
                if not url:
                    url = (await guard(self.ctx.client.recordings.get(out.recording_id))).url
                if not url:
                    last = "the recording has no url yet"
                else:
                    downloaded = await guard(self.ctx.client.recordings.download(url, destination))
                    break
            except NotFoundError as exc:
                if not url:  # the recording itself is gone: nothing will bring it back
                    await self.ctx.output_failed(out, f"download failed: {reason(exc)}")
                    return
                url, last = None, reason(exc)  # a stale or expired link: ask for the recording again
            except PermissionDeniedError as exc:
                url, last = None, reason(exc)
            except VoiceAPIError as exc:
                last = reason(exc)
            if attempt < max_attempts:
                await self.ctx.pause(self.ctx.opts.retry_delay * attempt)
        else:
            await self._defer(item, out, file_name, last)  # transient: never final
            return
        outcome = await journal.set_downloaded(
            out.item_seq, out.target, path=str(downloaded.path), size=downloaded.size, url=url
        )
        if self.ctx.emit_event is not None:
            await self.ctx.emit(
                ItemDownloaded(
                    key=item.key,
                    name=item.name,
                    target=self.ctx.target_name(item, out.target),
                    recording_id=out.recording_id,
                    path=str(downloaded.path),
                    size=downloaded.size,
                )
            )
        await self.ctx.settled(out.item_seq, outcome, item)

    async def _defer(self, item: ItemRow, out: OutputRow, file_name: str, last: str) -> None:
        """Download again after a back-off, or leave the output for the next run."""
        slot = (out.item_seq, out.target)
        n = self._deferrals[slot] = self._deferrals.get(slot, 0) + 1
        retry_in = self.ctx.backoff(n) if n <= self.ctx.opts.max_deferrals else None
        reason_ = f"{self.ctx.opts.max_attempts} attempts failed: {last}"
        await self.ctx.emit(
            ItemPostponed(key=item.key, name=item.name, stage=Step.DOWNLOAD, reason=reason_, retry_in=retry_in)
        )
        if retry_in is None:
            self.ctx.park(out.item_seq, converting=True)
            return

        async def again() -> None:
            await self.queue.put((out, file_name))

        self.ctx.later(retry_in, again)


def _extension(url: str | None, file_name: str | None) -> str:
    suffix = suffix_of(file_name or "")
    if not suffix or len(suffix) > 6:
        suffix = suffix_of(urlsplit(url or "").path)
    return suffix.lower() if suffix and len(suffix) <= 6 else ".wav"


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

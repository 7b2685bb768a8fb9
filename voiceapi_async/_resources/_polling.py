"""Bulk polling of recordings: one list call per project or folder a round, not one request per recording.

Shared by ``recordings.watch()`` (any set of recordings, e.g. a web backend's many
waiting requests) and the job orchestrator's poller, which adds its journal on top.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from typing import TYPE_CHECKING

from .._errors import APITimeoutError, NotFoundError
from .._models import Recording
from .._pagination import AsyncPage

if TYPE_CHECKING:
    from ._recordings import Recordings

__all__ = ["PAGE", "PollInterval", "scan_recordings", "watch_recordings"]

#: Recordings per list call (the API's maximum).
PAGE = 200


class PollInterval:
    """The adaptive poll interval: back off while nothing changes (up to a cap), reset when something does."""

    def __init__(self, minimum: float, maximum: float, backoff: float = 1.5) -> None:
        if minimum <= 0 or maximum < minimum or backoff < 1:
            raise ValueError("need 0 < poll_interval <= max_poll_interval and poll_backoff >= 1")
        self.minimum = minimum
        self.maximum = maximum
        self.backoff = backoff
        self.current = minimum

    def update(self, changed: bool) -> float:
        """The wait before the next round, given whether this round saw any change."""
        self.current = self.minimum if changed else min(self.maximum, self.current * self.backoff)
        return self.current

    def reset(self) -> None:
        self.current = self.minimum


async def scan_recordings(
    recordings: Recordings,
    *,
    project_id: str | None = None,
    folder_id: str | None = None,
    offset: int = 0,
    direction: str = "asc",
) -> AsyncGenerator[tuple[int, AsyncPage[Recording]], None]:
    """One pass over a project's (or folder's) recordings from ``offset``: ``(offset of the page, page)``.

    Ascending order keeps positions stable (a caller can resume where something was still
    pending); descending reaches recent recordings first.  Stop iterating to end the pass.
    """
    while True:
        page = await recordings.list(
            project_id=project_id, folder_id=folder_id, limit=PAGE, offset=offset, direction=direction
        )
        yield offset, page
        offset += len(page.list)
        if not page.list or offset >= page.pagination.count:
            return


async def watch_recordings(
    recordings: Recordings,
    wanted: Iterable[Recording | str],
    *,
    folder_id: str | None,
    project_id: str | None,
    interval: float,
    max_interval: float,
    timeout: float | None,
) -> AsyncIterator[Recording]:
    """``recordings.watch``: rounds of one newest-first pass per folder (or project) until every one is final."""
    transport = recordings._client._transport
    deadline = None if timeout is None else transport.clock() + timeout
    scope_of: dict[str, tuple[str | None, str | None]] = {}  # recording id -> (folder_id, project_id)
    unplaced: list[str] = []
    for entry in wanted:
        if isinstance(entry, Recording):
            if entry.is_final:
                yield entry
            elif folder_id or project_id or entry.parent_folder_id or entry.project_id:
                scope_of[entry.id] = _scope(folder_id, project_id, entry)
            else:
                unplaced.append(entry.id)
        elif folder_id or project_id:
            scope_of[entry] = (folder_id, project_id if folder_id is None else None)
        else:
            unplaced.append(entry)
    for recording_id in dict.fromkeys(unplaced):  # where it lives is learnt from the recording itself, once
        recording = await recordings.get(recording_id)
        if recording.is_final:
            yield recording
        else:
            scope_of[recording.id] = _scope(None, None, recording)
    pace = PollInterval(interval, max_interval)
    while scope_of:
        if deadline is not None and transport.clock() + pace.current > deadline:
            raise APITimeoutError(
                f"{len(scope_of)} recordings still not finished after {timeout} s", method="GET", path="/api/recordings"
            )
        await transport.sleep(pace.current)
        changed = False
        for scope in dict.fromkeys(scope_of.values()):
            waiting = {rid for rid, where in scope_of.items() if where == scope}
            seen: set[str] = set()
            finals: list[Recording] = []
            pages = scan_recordings(recordings, folder_id=scope[0], project_id=scope[1], direction="desc")
            async with contextlib.aclosing(pages):
                async for _, page in pages:
                    for recording in page.list:
                        if recording.id in waiting:
                            seen.add(recording.id)
                            if recording.is_final:
                                finals.append(recording)
                    if seen >= waiting:
                        break
            for recording in finals:
                del scope_of[recording.id]
                changed = True
                yield recording
            for recording_id in waiting - seen:  # not listed there (moved?): asked for directly
                try:
                    recording = await recordings.get(recording_id)
                except NotFoundError:
                    del scope_of[recording_id]
                    raise
                if recording.is_final:
                    del scope_of[recording_id]
                    changed = True
                    yield recording
        pace.update(changed)


def _scope(folder_id: str | None, project_id: str | None, recording: Recording) -> tuple[str | None, str | None]:
    if folder_id is not None:
        return folder_id, None
    if project_id is not None:
        return None, project_id
    if recording.parent_folder_id:
        return recording.parent_folder_id, None
    return None, recording.project_id

"""Bulk polling of recordings: one list call per project (or folder) a round, whoever waits.

``BulkPoller`` is the one machinery: a client's every ``recordings.watch()`` (a web
backend's many waiting requests) and every job's poller subscribe to it, and each round
one newest-first pass over each project serves all of them.  A job adds its journal on
top (it reads every page); a watcher only picks its own recordings out of the pages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from .._errors import APITimeoutError, NotFoundError
from .._models import Recording
from .._pagination import AsyncPage

if TYPE_CHECKING:
    from ._recordings import Recordings

__all__ = ["PAGE", "BulkPoller", "PollInterval", "Subscription", "scan_recordings", "watch_recordings"]

#: Recordings per list call (the API's maximum).
PAGE = 200
#: A pass's first page asks for twice what the round waits for, plus this room for others' new recordings.
_FIRST_PAGE_ROOM = 24


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
    first_page: int = PAGE,
) -> AsyncGenerator[tuple[int, AsyncPage[Recording]], None]:
    """One pass over a project's (or folder's) recordings from ``offset``: ``(offset of the page, page)``.

    Ascending order keeps positions stable (a caller can resume where something was still
    pending); descending reaches recent recordings first.  Stop iterating to end the pass.
    ``first_page``: the size of the first page; each next page is twice the size of the one
    before, up to ``PAGE`` (a pass that just missed what it looks for reads a little more,
    not 200 more).
    """
    limit = first_page
    while True:
        page = await recordings.list(
            project_id=project_id, folder_id=folder_id, limit=limit, offset=offset, direction=direction
        )
        yield offset, page
        offset += len(page.list)
        if not page.list or offset >= page.pagination.count:
            return
        limit = min(PAGE, 2 * limit)


Scope = tuple["str | None", "str | None"]  # (folder_id, project_id): what one list call covers


class _End:
    """The end of a subscriber's round: what it waited for and the pass did not list."""

    __slots__ = ("missing",)

    def __init__(self, missing: set[str]) -> None:
        self.missing = missing


class Subscription:
    """One subscriber of a ``BulkPoller`` on one scope; joins rounds one at a time with ``round()``."""

    def __init__(self, poller: BulkPoller, scope: Scope, pace: PollInterval) -> None:
        self.scope = scope
        self.pace = pace
        self.missing: set[str] = set()
        self._poller = poller
        self._wanted: set[str] = set()
        self._seen: set[str] = set()
        self._active = False
        self._queue: asyncio.Queue[Sequence[Recording] | _End | BaseException] = asyncio.Queue()

    def round(self, wanted: Collection[str] = (), *, reset: bool = False) -> AsyncIterator[Sequence[Recording]]:
        """Join the next round: yields the pages of its pass over this scope, newest first.

        The pass goes on until every id in ``wanted`` was listed (at least one page), for
        every subscriber in the round; those it never listed are in ``missing`` once the
        round ends.  A failed list call is raised here (to each subscriber of the scope).
        Consume each round to its end.  ``reset``: back to the shortest interval (new work).
        """
        if self._active:
            raise RuntimeError("this subscription is already in a round")
        self._wanted = set(wanted)
        self._seen = set()
        self.missing = set()
        self._active = True
        self._poller._join(reset)
        return self._pages()

    def changed(self) -> None:
        """Something this subscriber waits for changed: the next round comes after the shortest interval."""
        self._poller._changed = True

    async def _pages(self) -> AsyncIterator[Sequence[Recording]]:
        while True:
            got = await self._queue.get()
            if isinstance(got, _End):
                self.missing = got.missing
                return
            if isinstance(got, BaseException):
                raise got
            yield got

    def _offer(self, page: Sequence[Recording]) -> bool:
        """Hand a page over; whether this subscriber has now seen everything it waits for."""
        self._queue.put_nowait(page)
        self._seen.update(r.id for r in page if r.id in self._wanted)
        return len(self._seen) == len(self._wanted)

    def _end(self, error: BaseException | None) -> None:
        self._active = False
        self._queue.put_nowait(error if error is not None else _End(self._wanted - self._seen))


class BulkPoller:
    """A client's one poll loop: each round, one pass per scope serves every subscriber waiting on it.

    N concurrent ``watch()`` calls (and jobs) on recordings of one project cost one list
    call per page per round, not N.  The loop runs while anyone is subscribed, sleeps the
    shortest interval any subscriber asked for (backing off while nothing changes, on the
    client's clock), and lists only the scopes whose subscribers joined the round.
    """

    def __init__(self, recordings: Recordings) -> None:
        self._recordings = recordings
        self._subscribers: list[Subscription] = []
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._changed = False
        self.pace = PollInterval(2.0, 30.0)
        #: Per scope: (recordings it held at its last pass, how many it gained since the one before).
        self._counts: dict[Scope, tuple[int, int]] = {}

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        *,
        folder_id: str | None = None,
        project_id: str | None = None,
        interval: float = 2.0,
        max_interval: float = 30.0,
        backoff: float = 1.5,
    ) -> AsyncIterator[Subscription]:
        """Subscribe to one folder's or project's rounds (a project's list covers all its folders)."""
        sub = Subscription(self, (folder_id, project_id), PollInterval(interval, max_interval, backoff))
        self._subscribers.append(sub)
        self._repace()
        try:
            yield sub
        finally:
            sub._active = False
            self._subscribers.remove(sub)
            if not any(s.scope == sub.scope for s in self._subscribers):
                self._counts.pop(sub.scope, None)  # a web backend watches ever new projects: nothing kept
            if self._subscribers:
                self._repace()
            if self._wake is not None:
                self._wake.set()  # the loop re-checks: it ends with its last subscriber

    def _repace(self) -> None:
        """The loop's pace: the shortest interval and cap, the gentlest back-off, of all subscribers."""
        paces = [s.pace for s in self._subscribers]
        minimum = min(p.minimum for p in paces)
        self.pace = PollInterval(minimum, max(minimum, min(p.maximum for p in paces)), min(p.backoff for p in paces))

    def _join(self, reset: bool) -> None:
        if reset:
            self.pace.reset()
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        assert self._wake is not None
        self._wake.set()

    async def _run(self) -> None:
        transport = self._recordings._client._transport
        assert self._wake is not None
        while self._subscribers:
            if not any(s._active for s in self._subscribers):
                self._wake.clear()
                await self._wake.wait()
                continue
            await transport.sleep(self.pace.current)
            joined = [s for s in self._subscribers if s._active]
            for scope in dict.fromkeys(s.scope for s in joined):
                await self._pass(scope, [s for s in joined if s.scope == scope])
            changed, self._changed = self._changed, False
            self.pace.update(changed)

    async def _pass(self, scope: Scope, group: list[Subscription]) -> None:
        """One newest-first pass over ``scope``, until each of ``group`` saw what it waits for.

        What a round waits for is mostly among the newest recordings (a job polls every
        few hundredths of a second while its conversions finish): what was created since
        the last pass, which is about what the scope gained between the two passes before.
        So the first page asks for that many or twice as many as are waited for (whichever
        is more, plus some room), not 200: a round that waits for a few does not fetch and
        decode 200 recordings.  Further pages double (``scan_recordings``).
        """
        waited = sum(len(s._wanted) for s in group)
        count, growth = self._counts.get(scope, (-1, 0))
        first = min(PAGE, max(2 * waited, growth) + _FIRST_PAGE_ROOM)
        pages = scan_recordings(
            self._recordings, folder_id=scope[0], project_id=scope[1], direction="desc", first_page=first
        )
        try:
            async with contextlib.aclosing(pages):
                async for offset, page in pages:
                    if offset == 0:
                        now = page.pagination.count
                        self._counts[scope] = (now, max(0, now - count) if count >= 0 else 0)
                    group = [s for s in group if s._active]  # a subscriber may have left meanwhile
                    done = [s._offer(page.list) for s in group]
                    if all(done):
                        break
        except Exception as exc:  # the SDK already retried: each subscriber decides (raise, or try next round)
            for sub in group:
                if sub._active:
                    sub._end(exc)
            return
        for sub in group:
            if sub._active:
                sub._end(None)


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
    """``recordings.watch``: joins the client's ``BulkPoller`` rounds (one pass per project) until every one is final."""
    transport = recordings._client._transport
    deadline = None if timeout is None else transport.clock() + timeout
    scope_of: dict[str, Scope] = {}  # recording id -> (folder_id, project_id)
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
    poller = recordings._poller
    async with contextlib.AsyncExitStack() as stack:
        subs = {
            scope: await stack.enter_async_context(
                poller.subscribe(folder_id=scope[0], project_id=scope[1], interval=interval, max_interval=max_interval)
            )
            for scope in dict.fromkeys(scope_of.values())
        }
        while scope_of:
            if deadline is not None and transport.clock() + poller.pace.current > deadline:
                raise APITimeoutError(
                    f"{len(scope_of)} recordings still not finished after {timeout} s",
                    method="GET",
                    path="/api/recordings",
                )
            waiting = {scope: {rid for rid, where in scope_of.items() if where == scope} for scope in subs}
            rounds = [(subs[scope], subs[scope].round(ids)) for scope, ids in waiting.items() if ids]
            for sub, pages in rounds:  # all joined first: one round serves every scope
                ids = waiting[sub.scope]
                async for page in pages:
                    for recording in page:
                        if recording.id in ids and recording.is_final and recording.id in scope_of:
                            del scope_of[recording.id]
                            sub.changed()
                            yield recording
                for recording_id in sub.missing & scope_of.keys():  # not listed there (moved?): asked for directly
                    try:
                        recording = await recordings.get(recording_id)
                    except NotFoundError:
                        del scope_of[recording_id]
                        raise
                    if recording.is_final:
                        del scope_of[recording_id]
                        sub.changed()
                        yield recording


def _scope(folder_id: str | None, project_id: str | None, recording: Recording) -> Scope:
    """An explicit folder or project, else the recording's project (one list answers for all its folders)."""
    if folder_id is not None:
        return folder_id, None
    if project_id is not None:
        return None, project_id
    if recording.project_id:
        return None, recording.project_id
    return recording.parent_folder_id, None

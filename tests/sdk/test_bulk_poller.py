"""The bulk poller's pages: how much a round lists when its scope grows steadily (a job's project)."""

from __future__ import annotations

import uuid
from typing import Any

from voiceapi_async import Recording, RecordingState, RecordingType
from voiceapi_async._models import Page, Pagination
from voiceapi_async._pagination import AsyncPage
from voiceapi_async._resources._polling import PAGE, BulkPoller, scan_recordings

PROJECT = str(uuid.UUID(int=1))


class _Transport:
    def __init__(self, on_sleep: Any) -> None:
        self._on_sleep = on_sleep

    async def sleep(self, seconds: float) -> None:
        self._on_sleep()

    def clock(self) -> float:
        return 0.0


class _Client:
    def __init__(self, transport: _Transport) -> None:
        self._transport = transport


class FakeRecordings:
    """One project's recordings, listed as the API does (``desc``: newest first); every list call recorded."""

    def __init__(self) -> None:
        self.all: list[Recording] = []
        self.limits: list[int] = []
        self.created_per_round = 0
        self._client = _Client(_Transport(lambda: self.create(self.created_per_round)))

    def create(self, n: int) -> list[str]:
        new = [
            Recording(id=str(uuid.uuid4()), project_id=PROJECT, type=RecordingType.CONVERTED, state=RecordingState.DONE)
            for _ in range(n)
        ]
        self.all.extend(new)
        return [r.id for r in new]

    async def list(self, *, limit: int, offset: int, direction: str, **scope: Any) -> AsyncPage[Recording]:
        self.limits.append(limit)
        ordered = self.all[::-1] if direction == "desc" else self.all
        answer = Page(list=ordered[offset : offset + limit], pagination=Pagination(len(ordered), limit, offset))
        return AsyncPage.of(answer, limit=limit, offset=offset, fetch=None)  # type: ignore[arg-type]


async def test_further_pages_of_a_pass_double_up_to_the_maximum() -> None:
    recordings = FakeRecordings()
    recordings.create(1000)
    pages = [page async for _, page in scan_recordings(recordings, project_id=PROJECT, first_page=10)]  # type: ignore[arg-type]
    assert recordings.limits == [10, 20, 40, 80, 160, 200, 200, 200, 200]
    assert sum(len(p.list) for p in pages) == 1000


async def test_a_round_of_a_steadily_growing_project_lists_what_it_gained_in_one_page() -> None:
    """A job's project gains ~60 recordings a round while the round waits for a few of the newest:

    the first page is sized on what the project gained between the last passes, not only on
    what is waited for, so each round makes one list call (not a small page and then 200 more).
    """
    recordings = FakeRecordings()
    recordings.create(500)
    poller = BulkPoller(recordings)  # type: ignore[arg-type]
    recordings.created_per_round = 60  # created while the poller sleeps: found by the next pass
    calls_per_round: list[int] = []
    listed_per_round: list[int] = []
    async with poller.subscribe(project_id=PROJECT, interval=0.01) as sub:
        for _ in range(6):
            wanted = [r.id for r in recordings.all[-4:]]  # the newest four: 60 deep once the round begins
            before = len(recordings.limits)
            listed = 0
            async for page in sub.round(wanted):
                listed += len(page)
            assert not sub.missing
            calls_per_round.append(len(recordings.limits) - before)
            listed_per_round.append(listed)
    # The first two rounds know no growth yet (a small first page, then a second one of twice that).
    assert calls_per_round[2:] == [1, 1, 1, 1]
    assert all(60 <= n < 60 + 30 for n in listed_per_round[2:])  # what was gained, and a little room
    assert max(recordings.limits) < PAGE


async def test_what_the_poller_learnt_of_a_scope_goes_with_its_last_subscriber() -> None:
    """A web backend's watchers come and go over ever new projects: the client's poller keeps nothing of them."""
    recordings = FakeRecordings()
    recordings.create(10)
    poller = BulkPoller(recordings)  # type: ignore[arg-type]
    async with poller.subscribe(project_id=PROJECT, interval=0.01) as first:
        async with poller.subscribe(project_id=PROJECT, interval=0.01) as second:
            for sub in (first, second):
                async for _ in sub.round([recordings.all[-1].id]):
                    pass
            assert PROJECT in {scope[1] for scope in poller._counts}
        assert poller._counts  # the first still subscribes: what was learnt serves it
    assert poller._counts == {}

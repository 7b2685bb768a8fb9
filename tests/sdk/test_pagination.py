"""The one paginator: ``await`` a list for a page, ``async for`` it for every item, in either answer shape."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aioresponses import aioresponses

from tests.conftest import BASE
from tests.sdk.samples import CALIBRATION, FID, page
from voiceapi_async import Calibration, InvalidRequestError, Recording, VoiceClient
from voiceapi_async.types import AsyncPage, AsyncPaginator

RECORDINGS = re.compile(re.escape(f"{BASE}/api/recordings") + r"\?.*")
CALIBRATIONS = re.compile(re.escape(f"{BASE}/api/calibration") + r"(\?.*)?$")


def recordings(n: int) -> list[dict[str, Any]]:
    # minimal items: aioresponses cannot feed bodies over aiohttp's 64 KiB read buffer
    return [{"id": f"{i}", "project_id": "p", "type": "original", "state": "done"} for i in range(n)]


def calibrations(n: int) -> list[dict[str, Any]]:
    return [{**CALIBRATION, "id": f"c{i}", "name": f"cal {i}"} for i in range(n)]


def queries(mocked: aioresponses) -> list[dict[str, str]]:
    return [dict(url.query) for (_, url), calls in mocked.requests.items() for _ in calls]


async def test_await_gives_one_page_and_the_way_to_the_next(client: VoiceClient, mocked: aioresponses) -> None:
    items = recordings(5)
    mocked.get(RECORDINGS, payload=page(items[:2], count=5, limit=2))
    mocked.get(RECORDINGS, payload=page(items[2:4], count=5, limit=2, offset=2))
    mocked.get(RECORDINGS, payload=page(items[4:], count=5, limit=2, offset=4))

    paginator = client.recordings.list(folder_id=FID, limit=2)
    assert isinstance(paginator, AsyncPaginator)
    first = await paginator
    assert isinstance(first, AsyncPage)
    assert [r.id for r in first.list] == ["0", "1"]
    assert first.pagination.count == 5 and first.has_next_page() and first.has_more
    second = await first.next_page()
    assert [r.id for r in second.list] == ["2", "3"]
    last = await second.next_page()
    assert [r.id for r in last.list] == ["4"] and not last.has_next_page()
    with pytest.raises(InvalidRequestError, match="last page"):
        await last.next_page()
    assert [q.get("offset") for q in queries(mocked)] == [None, "2", "4"]
    assert {q["limit"] for q in queries(mocked)} == {"2"}


async def test_async_for_walks_every_page_to_the_end(client: VoiceClient, mocked: aioresponses) -> None:
    items = recordings(450)
    for offset in (0, 200, 400):
        mocked.get(RECORDINGS, payload=page(items[offset : offset + 200], count=450, limit=200, offset=offset))
    seen: list[Recording] = [r async for r in client.recordings.list(folder_id=FID, limit=200)]
    assert [r.id for r in seen] == [i["id"] for i in items]
    assert [q.get("offset") for q in queries(mocked)] == [None, "200", "400"]


async def test_iter_pages_yields_each_page_once(client: VoiceClient, mocked: aioresponses) -> None:
    items = recordings(3)
    mocked.get(RECORDINGS, payload=page(items[:2], count=13, limit=2, offset=10))
    mocked.get(RECORDINGS, payload=page(items[2:], count=13, limit=2, offset=12))
    sizes = [len(p.list) async for p in client.recordings.list(folder_id=FID, limit=2, offset=10).iter_pages()]
    assert sizes == [2, 1]
    assert [q["offset"] for q in queries(mocked)] == ["10", "12"]


async def test_an_empty_page_ends_the_walk(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(re.compile(re.escape(f"{BASE}/api/projects") + r"(\?.*)?$"), payload=page([], count=5))
    assert [p async for p in client.projects.list()] == []
    assert len(queries(mocked)) == 1


async def test_bad_parameters_fail_when_list_is_called_before_any_request(
    client: VoiceClient, mocked: aioresponses
) -> None:
    with pytest.raises(InvalidRequestError, match="0 to 200"):
        client.recordings.list(folder_id=FID, limit=201)
    with pytest.raises(InvalidRequestError, match="project_id or a folder_id"):
        client.recordings.list()
    assert mocked.requests == {}


async def test_a_bare_list_that_honours_limit_and_offset_is_paged_while_pages_are_full(
    client: VoiceClient, mocked: aioresponses
) -> None:
    items = calibrations(7)
    for offset in (0, 3, 6):
        mocked.get(CALIBRATIONS, payload=items[offset : offset + 3])
    seen: list[Calibration] = [c async for c in client.calibrations.list(limit=3)]
    assert [c.id for c in seen] == [f"c{i}" for i in range(7)]
    assert [q.get("offset") for q in queries(mocked)] == [None, "3", "6"]


async def test_a_bare_list_longer_than_asked_is_the_whole_list(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(CALIBRATIONS, payload=calibrations(7))
    page_ = await client.calibrations.list(limit=3)
    assert len(page_.list) == 7 and not page_.has_next_page()
    assert page_.pagination.count == 7
    mocked.get(CALIBRATIONS, payload=calibrations(7))
    assert len([c async for c in client.calibrations.list(limit=3)]) == 7
    assert len(queries(mocked)) == 2


async def test_a_bare_list_that_ignores_the_offset_is_not_read_twice(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(CALIBRATIONS, payload=calibrations(3), repeat=True)
    assert [c.id async for c in client.calibrations.list(limit=3)] == ["c0", "c1", "c2"]
    assert len(queries(mocked)) == 2


async def test_a_bare_list_without_a_limit_is_paged_by_the_server_default(
    client: VoiceClient, mocked: aioresponses
) -> None:
    mocked.get(CALIBRATIONS, payload=calibrations(50))  # the API's default page size: maybe more
    mocked.get(CALIBRATIONS, payload=calibrations(54)[50:])
    assert len([c async for c in client.calibrations.list()]) == 54
    assert [q.get("offset") for q in queries(mocked)] == [None, "50"]


async def test_a_paged_calibration_answer_still_works(client: VoiceClient, mocked: aioresponses) -> None:
    items = calibrations(4)
    mocked.get(CALIBRATIONS, payload=page(items[:2], count=4, limit=2))
    mocked.get(CALIBRATIONS, payload=page(items[2:], count=4, limit=2, offset=2))
    assert [c.id async for c in client.calibrations.list(limit=2)] == ["c0", "c1", "c2", "c3"]

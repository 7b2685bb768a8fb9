"""Stats lists: GET with a body, POST after a 405 (remembered); orders: calibration_id turns use_calibration on."""

from __future__ import annotations

import json
import re

import pytest
from aioresponses import aioresponses

from tests.conftest import BASE
from tests.sdk.samples import CID, FID, ORDER, PID, RID, VID
from voiceapi_async import ConversionTarget, NotFoundError, VoiceClient

STATS = [{"folder_id": FID, "stats": {"total": 1, "completed": 1, "in_progress": 0, "failed": 0}}]
NOT_ALLOWED = {"detail": "Method Not Allowed"}


def _sent(mocked: aioresponses) -> list[str]:
    return [method for (method, _url), calls in mocked.requests.items() for _ in calls]


async def test_stats_lists_fall_back_to_post_once_and_remember(client: VoiceClient, mocked: aioresponses) -> None:
    url = re.compile(re.escape(BASE + "/api/stats/folders") + "$")
    mocked.get(url, status=405, payload=NOT_ALLOWED)
    mocked.post(url, payload=STATS, repeat=True)

    assert (await client.stats.folders([FID]))[0].folder_id == FID
    assert (await client.stats.folders([FID]))[0].stats.completed == 1
    # a with_options copy shares what the client learned
    assert (await client.with_options(timeout=5).stats.folders([FID]))[0].folder_id == FID
    assert sorted(_sent(mocked)) == ["GET", "POST", "POST", "POST"]
    for (method, _), calls in mocked.requests.items():
        for call in calls:
            assert json.loads(call.kwargs["data"]) == {"folder_ids": [FID]}, method
    # only the path that answered 405 switched: projects still start with GET
    mocked.get(BASE + "/api/stats/projects", payload=[])
    assert await client.stats.projects([PID]) == []
    assert client._transport.learned_methods == {"/api/stats/folders": "POST"}


async def test_stats_lists_other_errors_do_not_switch_method(client: VoiceClient, mocked: aioresponses) -> None:
    mocked.get(BASE + "/api/stats/projects", status=404, payload={"detail": "Not Found"})
    with pytest.raises(NotFoundError):
        await client.stats.projects([PID])
    assert _sent(mocked) == ["GET"]
    assert client._transport.learned_methods == {}


async def test_stats_lists_a_405_to_post_too_is_raised(client: VoiceClient, mocked: aioresponses) -> None:
    url = BASE + "/api/stats/projects"
    mocked.get(url, status=405, payload=NOT_ALLOWED)
    mocked.post(url, status=405, payload=NOT_ALLOWED)
    with pytest.raises(Exception, match="405|Method Not Allowed") as info:
        await client.stats.projects([PID])
    assert getattr(info.value, "status_code", None) == 405
    assert sorted(_sent(mocked)) == ["GET", "POST"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"calibration_id": CID}, {"calibration_id": CID, "use_calibration": True}),
        ({"calibration_id": CID, "use_calibration": True}, {"calibration_id": CID, "use_calibration": True}),
        ({"calibration_id": CID, "use_calibration": False}, {"calibration_id": CID, "use_calibration": False}),
        ({}, {}),
    ],
    ids=["id-alone-turns-it-on", "explicit-true", "explicit-false-kept", "neither"],
)
async def test_orders_calibration_id_sends_use_calibration(
    client: VoiceClient, mocked: aioresponses, kwargs: dict[str, object], expected: dict[str, object]
) -> None:
    mocked.post(BASE + "/api/v2/orders", payload=[ORDER])
    await client.orders.create(RID, [ConversionTarget(voice_id=VID)], **kwargs)  # type: ignore[arg-type]
    ((_, calls),) = mocked.requests.items()
    assert json.loads(calls[0].kwargs["data"]) == {"original_id": RID, "conversions": [{"voice_id": VID}], **expected}

"""The job's request counter: every attempt counted once, per endpoint with ids folded, 429s apart."""

from __future__ import annotations

import uuid

import pytest

from voiceapi_async import HTTPEvent
from voiceapi_async.jobs._progress import RequestCounter


def _events() -> list[HTTPEvent]:
    ids = [str(uuid.UUID(int=i)) for i in range(700)]  # more paths than the counter remembers
    events = []
    for rid in ids:
        events.append(HTTPEvent("response", "GET", f"/api/recordings/{rid}", 1, 200))
        events.append(HTTPEvent("response", "GET", f"/api/files/{rid}.wav", 1, 200))
    for rid in ids[:3]:
        events.append(HTTPEvent("response", "POST", f"/api/recordings/{rid}/retry", 1, 429))
    events.append(HTTPEvent("retry", "POST", "/api/recordings", 1, None, delay=0.1, error="reset"))  # broken
    events.append(HTTPEvent("retry", "POST", "/api/recordings", 2, 503, delay=0.1))  # its answer was counted
    events.append(HTTPEvent("response", "POST", "/api/recordings", 2, 503))
    events.append(HTTPEvent("error", "POST", "/api/recordings", 3, None, error="reset"))
    return events


@pytest.mark.parametrize("hook", ["event", "answer"])
def test_attempts_are_counted_per_endpoint_with_ids_and_file_names_folded(hook: str) -> None:
    """As an event hook, or as an answer hook told what the transport tells those (one call per attempt)."""
    counter = RequestCounter()
    for event in _events():
        if hook == "event":
            counter(event)
        elif event.kind == "response" or event.status is None:  # what the transport tells an answer hook
            counter.count(event.method, event.path, event.status)

    assert dict(counter.by_endpoint) == {
        "GET /api/recordings/{id}": 700,
        "GET /api/files/{file}": 700,
        "POST /api/recordings/{id}/retry": 3,
        "POST /api/recordings": 3,
    }
    assert counter.requests == 1406
    assert counter.rate_limited == 3

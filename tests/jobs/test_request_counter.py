"""The job's request counter: every attempt counted once, per endpoint with ids folded, 429s apart."""

from __future__ import annotations

import uuid

from voiceapi_async import HTTPEvent
from voiceapi_async.jobs._progress import RequestCounter


def test_attempts_are_counted_per_endpoint_with_ids_and_file_names_folded() -> None:
    counter = RequestCounter()
    ids = [str(uuid.UUID(int=i)) for i in range(700)]  # more paths than the counter remembers
    for rid in ids:
        counter(HTTPEvent("response", "GET", f"/api/recordings/{rid}", 1, 200))
        counter(HTTPEvent("response", "GET", f"/api/files/{rid}.wav", 1, 200))
    for rid in ids[:3]:
        counter(HTTPEvent("response", "POST", f"/api/recordings/{rid}/retry", 1, 429))
    counter(HTTPEvent("retry", "POST", "/api/recordings", 1, None, delay=0.1, error="reset"))  # a broken connection
    counter(HTTPEvent("retry", "POST", "/api/recordings", 2, 503, delay=0.1))  # its answer was counted already
    counter(HTTPEvent("response", "POST", "/api/recordings", 2, 503))
    counter(HTTPEvent("error", "POST", "/api/recordings", 3, None, error="reset"))

    assert dict(counter.by_endpoint) == {
        "GET /api/recordings/{id}": 700,
        "GET /api/files/{file}": 700,
        "POST /api/recordings/{id}/retry": 3,
        "POST /api/recordings": 3,
    }
    assert counter.requests == 1406
    assert counter.rate_limited == 3

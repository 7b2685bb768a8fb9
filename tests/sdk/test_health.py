"""``Health.ok``: what a readiness probe checks, whatever legal shape the answer takes."""

from __future__ import annotations

import msgspec
import pytest

from voiceapi_async.types import Health


@pytest.mark.parametrize(
    ("body", "ok"),
    [
        (b'{"state": "OK"}', True),
        (b"{}", True),
        (b'{"state": null}', True),
        (b'{"state": "ok"}', True),
        (b'{"state": "degraded"}', False),
    ],
)
def test_health_ok(body: bytes, ok: bool) -> None:
    assert msgspec.json.decode(body, type=Health).ok is ok

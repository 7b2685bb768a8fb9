"""The job's poller asks for recordings missing from its listings in turns, never the same ones forever."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from voiceapi_async.jobs._watch import _MAX_DIRECT_GETS, Poller


def _poller() -> tuple[Poller, Any]:
    ctx: Any = SimpleNamespace(round=0)
    return Poller(ctx, "project", retrier=None, downloads=asyncio.Queue()), ctx  # type: ignore[arg-type]


def test_missing_recordings_are_asked_for_in_turns() -> None:
    poller, ctx = _poller()
    missing = {f"r{i:03d}" for i in range(_MAX_DIRECT_GETS + 10)}  # more than one round asks for
    asked: list[list[str]] = []
    for round_ in (1, 2):
        ctx.round = round_
        asked.append(poller._next_missing(missing))
    assert all(len(batch) == _MAX_DIRECT_GETS for batch in asked)
    assert set(asked[0]) | set(asked[1]) == missing  # the second round asks first for those never asked
    assert asked[1][:10] == sorted(missing - set(asked[0]))


def test_recordings_no_longer_missing_are_forgotten() -> None:
    poller, ctx = _poller()
    ctx.round = 1
    assert poller._next_missing({"a", "b"}) == ["a", "b"]
    ctx.round = 2
    assert poller._next_missing({"b", "c"}) == ["c", "b"]  # never asked first, then the oldest asked
    assert set(poller._asked) == {"b", "c"}

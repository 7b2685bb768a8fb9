"""Counting: requests seen through the client's event hooks, and item counts per stage for progress."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable

from .._transport import HTTPEvent
from ._events import Progress
from ._stages import FINAL_ITEM_STAGES, ItemStage

__all__ = ["ProgressCallback", "RequestCounter", "StageTracker"]

ProgressCallback = Callable[[Progress], None]
_ID = re.compile(r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?=/|$)")
FINAL = FINAL_ITEM_STAGES


def endpoint_of(method: str, path: str) -> str:
    """``GET /api/recordings/{id}``: ids folded so counts group by operation."""
    path = _ID.sub("/{id}", path)
    if path.startswith("/api/files/"):
        path = "/api/files/{file}"
    return f"{method} {path}"


class RequestCounter:
    """An event hook counting HTTP attempts (answers and broken connections) and 429s."""

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0
        self.by_endpoint: Counter[str] = Counter()

    def __call__(self, event: HTTPEvent) -> None:
        # An attempt ends either in a response, or in a connection failure (then a retry or an error).
        if event.kind == "response" or (event.kind in ("retry", "error") and event.status is None):
            self.requests += 1
            self.by_endpoint[endpoint_of(event.method, event.path)] += 1
        if event.kind == "response" and event.status == 429:
            self.rate_limited += 1


class StageTracker:
    """Items per stage, kept in memory from the journal's counts and every transition after."""

    def __init__(self, counts: dict[str, int], counter: RequestCounter, callback: ProgressCallback | None) -> None:
        self.counts: Counter[str] = Counter()
        #: Items not done nor failed (kept up to date by ``move``: the engine asks after every step).
        self.remaining = 0
        self.reset(counts)
        self._counter = counter
        self._callback = callback
        self._started = time.monotonic()
        self._finished_here = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self, counts: dict[str, int]) -> None:
        """Start again from the journal's counts."""
        self.counts = Counter(counts)
        self.remaining = sum(n for stage, n in self.counts.items() if stage not in FINAL)

    def move(self, old: str, new: str) -> None:
        if old == new:
            return
        self.counts[old] -= 1
        self.counts[new] += 1
        if new in FINAL:
            if old not in FINAL:
                self._finished_here += 1
                self.remaining -= 1
        elif old in FINAL:
            self.remaining += 1
        self.report()

    def snapshot(self) -> Progress:
        elapsed = time.monotonic() - self._started
        rate = self._finished_here / elapsed if elapsed > 0 else 0.0
        remaining = self.remaining
        return Progress(
            total=self.total,
            stages={k: v for k, v in self.counts.items() if v},
            done=self.counts[ItemStage.DONE],
            failed=self.counts[ItemStage.FAILED],
            requests=self._counter.requests,
            rate_limited=self._counter.rate_limited,
            elapsed=elapsed,
            rate=rate,
            eta=(remaining / rate) if rate > 0 else (0.0 if remaining == 0 else None),
        )

    def report(self) -> None:
        if self._callback is not None:
            self._callback(self.snapshot())

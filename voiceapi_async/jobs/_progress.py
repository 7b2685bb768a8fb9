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


_FILES = "/api/files/"


def endpoint_of(method: str, path: str) -> str:
    """``GET /api/recordings/{id}``: ids folded so counts group by operation."""
    if path.startswith(_FILES):
        return f"{method} /api/files/{{file}}"
    return f"{method} {_ID.sub('/{id}', path)}"


#: Endpoints remembered by ``RequestCounter`` (paths with an id are each new: the cache is emptied when full).
_REMEMBERED = 512


class RequestCounter:
    """Counts HTTP attempts (answers and broken connections) and 429s, per endpoint.

    An answer hook (``client.add_answer_hook(counter.count)``: no event built per answer);
    as an event hook (``client.add_event_hook(counter)``) it counts the same.  It sees every
    answer of a job (three or more per item): the endpoint of a path is remembered, not
    matched against the id pattern again.
    """

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0
        self.by_endpoint: Counter[str] = Counter()
        self._endpoints: dict[tuple[str, str], str] = {}

    def count(self, method: str, path: str, status: int | None) -> None:
        """One attempt: its answer's ``status``, or ``None`` when the connection failed before one."""
        self.requests += 1
        key = (method, _FILES if path.startswith(_FILES) else path)  # one key for every download
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            endpoint = endpoint_of(*key)
            if len(self._endpoints) >= _REMEMBERED:
                self._endpoints.clear()
            self._endpoints[key] = endpoint
        self.by_endpoint[endpoint] += 1
        if status == 429:
            self.rate_limited += 1

    def __call__(self, event: HTTPEvent) -> None:
        # An attempt ends either in a response, or in a connection failure (then a retry or an error).
        kind = event.kind
        if kind == "response" or (event.status is None and kind in ("retry", "error")):
            self.count(event.method, event.path, event.status)


class StageTracker:
    """Items per stage, kept in memory from the journal's counts and every transition after."""

    def __init__(self, counts: dict[str, int], counter: RequestCounter, callback: ProgressCallback | None) -> None:
        self.counts: dict[str, int] = {}
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
        # A plain dict holding every stage (``Counter`` arithmetic cost three times as much; ``move`` runs 5x an item).
        self.counts = dict.fromkeys(ItemStage, 0)
        self.counts.update(counts)
        self.remaining = sum(n for stage, n in self.counts.items() if stage not in FINAL)

    def move(self, old: str, new: str) -> bool:
        """Count an item's move; whether it just ended (moved to done or failed from another stage)."""
        if old == new:
            return False
        counts = self.counts
        counts[old] -= 1
        counts[new] += 1
        ended = False
        if new in FINAL:
            if old not in FINAL:
                self._finished_here += 1
                self.remaining -= 1
                ended = True
        elif old in FINAL:
            self.remaining += 1
        self.report()
        return ended

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

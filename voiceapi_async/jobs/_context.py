"""What the engine's stages share: the job's options, the journal, stage counts, events and critical sections.

Each stage (``_submit``, ``_watch``, ``_retry``, ``_fetch``) gets this context instead of
the whole engine, so a stage sees only the bookkeeping every stage must keep consistent:
an item's move between stages, the announcement of its end, and the slot it frees.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

import anyio

from .._client import VoiceClient
from .._models import Recording
from ._events import ItemDone, ItemFailed, JobEvent
from ._outcomes import StopJob
from ._progress import StageTracker
from ._stages import ItemStage, OutputStage, Step
from ._store import ItemRow, JobStore, OutputRow
from ._targets import ResolvedTarget

__all__ = [
    "CHUNK",
    "EngineContext",
    "EngineOptions",
    "JobKind",
    "Shield",
    "Work",
    "backoff_delay",
    "stem_of",
    "suffix_of",
    "target_label",
]

T = TypeVar("T")
#: Rows read from the journal at a time by the feeders.
CHUNK = 64


class JobKind(Protocol):
    """What differs between a speech-to-speech and a TTS job."""

    def create_original(self, item: ItemRow) -> Awaitable[Recording]:
        """Send the non-idempotent request that makes the item's original."""

    def created_event(self, item: ItemRow, original_id: str, reconciled: bool) -> JobEvent: ...

    def targets_for(self, item: ItemRow) -> Sequence[ResolvedTarget]: ...

    def output_path(self, item: ItemRow, target: int, extension: str) -> str:
        """Where an output goes: a POSIX path relative to the output directory."""


def suffix_of(path: str) -> str:
    """``PurePosixPath(path).suffix`` without building a path object (it is asked once per output)."""
    name = path[path.rfind("/") + 1 :]
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def stem_of(path: str) -> str:
    """``PurePosixPath(path).stem`` without building a path object (it is asked once per input)."""
    if path == ".":  # the one path whose name is empty
        return ""
    name = path[path.rfind("/") + 1 :]
    return name[: len(name) - len(suffix_of(name))]


def backoff_delay(opts: EngineOptions, deferral: int) -> float:
    """``retry_delay`` doubling with each deferral (1-based), capped at ``max_retry_delay``."""
    return float(min(opts.max_retry_delay, opts.retry_delay * (2 ** (deferral - 1))))


def target_label(kind: JobKind, item: ItemRow, target: int) -> str:
    """The label of an item's target (``"original"`` for target -1, a TTS original itself)."""
    targets = kind.targets_for(item)
    return targets[target].label if 0 <= target < len(targets) else "original"


class Shield:
    """One stage task's protection of its critical sections: a single shielded cancel scope for the task's life.

    A shielded anyio ``CancelScope`` per critical section cost about 31,000 instructions
    (two sections per item: the upload and the order).  A stage that runs critical
    sections (the submit workers, the retrier) instead lives inside one shielded scope,
    which the engine's cancellation does not reach; the engine stops it with ``stop()``:
    at once when the task is outside a critical section, else as soon as the section
    ends.  Once stopped, no critical section starts.
    """

    __slots__ = ("_depth", "_scope", "stopping")

    def __init__(self) -> None:
        self._scope: anyio.CancelScope | None = None
        self._depth = 0
        self.stopping = False

    async def run(self, stage: Callable[[], Awaitable[None]]) -> None:
        """Run ``stage`` until it returns or ``stop()`` cancels it (then return normally)."""
        with anyio.CancelScope(shield=True) as scope:
            self._scope = scope
            if self.stopping:
                scope.cancel()
            _shield.set(self)  # this task's own context: ``EngineContext.critical`` finds it
            await stage()

    def stop(self) -> None:
        self.stopping = True
        if self._scope is not None and not self._depth:
            self._scope.cancel()

    async def critical(self, coro: Coroutine[Any, Any, T]) -> T:
        if self.stopping:  # stopped between two sections: the next one does not start
            coro.close()
            assert self._scope is not None
            self._scope.cancel()
            await anyio.sleep_forever()  # cancelled by the scope just cancelled
        self._depth += 1
        try:
            return await coro
        finally:
            self._depth -= 1
            if self.stopping and not self._depth:
                assert self._scope is not None
                self._scope.cancel()


_shield: contextvars.ContextVar[Shield | None] = contextvars.ContextVar("voiceapi_engine_shield", default=None)


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    upload_concurrency: int = 4
    download_concurrency: int = 4
    max_active: int = 200
    max_conversion_retries: int = 2
    max_attempts: int = 4
    retry_delay: float = 1.0
    poll_interval: float = 1.0
    max_poll_interval: float = 30.0
    poll_backoff: float = 1.5
    calibration_id: str | None = None
    use_calibration: bool | None = None
    #: After ``max_attempts`` transient failures of a step the item waits (backing off from
    #: ``retry_delay`` up to ``max_retry_delay``) and is tried again, up to ``max_deferrals``
    #: times a run; then it is left pending for the next run.  Transient failures are never final.
    max_deferrals: int = 5
    max_retry_delay: float = 60.0


@dataclasses.dataclass
class Work:
    """An item in a submit worker, with the stage the tracker last saw."""

    row: ItemRow
    stage: ItemStage
    #: The id of an original made this run and not journaled yet: ``set_ordering`` journals it
    #: with the order's intent (or ``set_created`` if the worker stops before that).
    unjournaled: str | None = None


@dataclasses.dataclass(eq=False)
class EngineContext:
    """The state every stage reads or moves; ``round`` is the current poll round (set by the poller)."""

    client: VoiceClient
    journal: JobStore
    kind: JobKind
    opts: EngineOptions
    tracker: StageTracker
    #: Where events go; ``None`` when nobody reads them (``run_to_completion``): they are not made.
    emit_event: Callable[[JobEvent], Awaitable[None]] | None
    round: int = 0
    #: Items between "upload started" and "done" (at most ``max_active``); ``slot_freed`` wakes the feeder.
    holding: set[int] = dataclasses.field(default_factory=set)
    #: The rows of the items this run submitted, from the order until their end (or ``park``),
    #: with their stage ``converting``: downloads and events read them here, not in the journal
    #: (no other stage changes an item in between but its end, which removes it from here).
    rows: dict[int, ItemRow] = dataclasses.field(default_factory=dict)
    slot_freed: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    #: Set when an item starts converting: the poller has something to watch.
    work_ready: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    #: Set when no item is left and every end has been announced.
    all_final: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    unannounced: int = 0
    #: Starts a coroutine function in the engine's task group (set while the engine runs): how
    #: delayed re-attempts run; they are cancelled with it (the journal already holds their state).
    start_soon: Callable[[Callable[[], Awaitable[None]]], None] | None = None
    #: Items left for the next run after transient failures (their stage is not final).
    parked_submit: set[int] = dataclasses.field(default_factory=set)
    parked_converting: set[int] = dataclasses.field(default_factory=set)
    #: Set on 402: nothing new is uploaded, ordered or retried; what is paid for is still watched and downloaded.
    halted: StopJob | None = None
    #: Submit workers busy with an item (while ``halted``, the only submit-stage items still expected to move).
    busy_submits: int = 0

    async def critical(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to its end even if the job is cancelled meanwhile.

        The engine's task group (cancelled by the job's end, a failing stage, or the
        caller) waits for it: the calling stage's ``Shield`` defers its stop until the
        section ends; a task without one (a delayed re-attempt) gets a shielded scope.
        """
        shield = _shield.get()
        if shield is not None:
            return await shield.critical(coro)
        with anyio.CancelScope(shield=True):
            result = await coro
        return result

    def move(self, seq: int, old: ItemStage, new: ItemStage) -> None:
        if self.tracker.move(old, new):  # the item just ended
            self.unannounced += 1
            self.rows.pop(seq, None)
            if seq in self.holding:
                self.holding.discard(seq)
                self.slot_freed.set()

    async def emit(self, event: JobEvent | None, *, final: bool = False) -> None:
        """Hand an event to the consumer.  ``final``: it announces an item's end (``ItemDone``/``ItemFailed``).

        ``None``: no event was made (nobody reads them), only the end is announced.

        The job ends once no item is left *and* every end has been announced.
        """
        if self.emit_event is not None and event is not None:
            await self.emit_event(event)
        if final:
            self.unannounced -= 1
        self.check_end()

    def check_end(self) -> None:
        """Set ``all_final`` once nothing this run can still move is left, and every end is announced."""
        if self.unannounced:
            return
        counts = self.tracker.counts
        if self.halted is not None:
            live = counts[ItemStage.CONVERTING] - len(self.parked_converting) + self.busy_submits
        else:
            live = self.tracker.remaining - len(self.parked_submit) - len(self.parked_converting)
        if live <= 0:
            self.all_final.set()

    async def pause(self, seconds: float) -> None:
        """Wait through the client's (injectable) sleep, so tests run the back-off on a fake clock."""
        await self.client._transport.sleep(seconds)

    def backoff(self, deferral: int) -> float:
        """The wait before the ``deferral``-th (1-based) re-attempt of an item: doubling, capped."""
        return backoff_delay(self.opts, deferral)

    def later(self, seconds: float, then: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``then()`` after ``seconds`` without holding a worker meanwhile."""

        async def run() -> None:
            await self.pause(seconds)
            await then()

        assert self.start_soon is not None, "the engine is not running"
        self.start_soon(run)

    def park(self, seq: int, *, converting: bool) -> None:
        """Leave an item for the next run (transient failures, or 402): it stays pending in the journal."""
        (self.parked_converting if converting else self.parked_submit).add(seq)
        self.rows.pop(seq, None)
        if seq in self.holding:
            self.holding.discard(seq)
            self.slot_freed.set()
        self.check_end()

    def halt(self, cause: StopJob) -> None:
        """402: stop paid work (uploads, orders, retries); watch and download what is paid for."""
        if self.halted is None:
            self.halted = cause
        self.slot_freed.set()
        self.check_end()

    async def fail(self, work: Work, step: Step, reason: str) -> None:
        await self.journal.fail_item(work.row.seq, step, reason)
        self.move(work.row.seq, work.stage, ItemStage.FAILED)
        work.stage = ItemStage.FAILED
        await self.emit(ItemFailed(key=work.row.key, name=work.row.name, stage=step, reason=reason), final=True)

    async def output_failed(self, out: OutputRow, reason: str) -> None:
        await self.journal.set_output(out.item_seq, out.target, OutputStage.FAILED, error=reason)
        await self.settle(out.item_seq)

    async def settle(self, seq: int, item: ItemRow | None = None) -> None:
        """End a converting item once all its outputs are final: done, or failed if any output failed.

        ``item``: the caller's copy of the item's row (its key and name), if it has one.
        """
        await self.settled(seq, await self.journal.settle_item(seq), item)

    async def settled(self, seq: int, outcome: ItemStage | None, item: ItemRow | None = None) -> None:
        """Announce what ``settle_item`` (or ``set_downloaded``) decided for a converting item."""
        if outcome is None:
            return
        item = item or self.rows.get(seq)
        self.move(seq, ItemStage.CONVERTING, outcome)
        if self.emit_event is None:  # nobody reads events: the end is announced without reading the item
            await self.emit(None, final=True)
            return
        if item is None or outcome is not ItemStage.DONE:
            item = await self.journal.item(seq)
        if outcome is ItemStage.DONE:
            outputs = await self.journal.outputs_of(seq)
            await self.emit(
                ItemDone(key=item.key, name=item.name, outputs=tuple(o.path or "" for o in outputs)), final=True
            )
        else:
            await self.emit(
                ItemFailed(key=item.key, name=item.name, stage=Step.CONVERT, reason=item.error or "failed"), final=True
            )

    def target_name(self, item: ItemRow, target: int) -> str:
        return target_label(self.kind, item, target)

    async def item(self, seq: int) -> ItemRow:
        """A converting item's row: the one at hand (``rows``), else the journal's (an item an earlier run ordered)."""
        row = self.rows.get(seq)
        return row if row is not None else await self.journal.item(seq)

"""What the engine's stages need from a job store: the one interface a journal implements.

The stages (``_submit``, ``_watch``, ``_retry``, ``_fetch``), the job's set-up and the plan
call only these methods, never SQL, so a store other than the SQLite journal (a shared
database for several workers) implements this protocol and nothing else.

The contract every implementation keeps:

- An *intent* (``set_stage(..., intent=True)``, ``set_ordering``, ``set_output(..., RETRYING)``) returns only
  once it is *durable* (committed): callers write an intent and only then send the
  non-idempotent request it announces.  Writes may be grouped into one commit, but an
  intent's caller is never answered before that commit.
- Other writes may return before they are committed (the SQLite journal commits them
  with the next intent, or within ``PLAIN_COMMIT_DELAY`` seconds), but commits keep the
  order of the writes: whatever was written before a durable intent is durable too.
  What a killed run loses of them is what a re-run finds out again (asks the server,
  downloads again).
- Writes are applied in the order they were made.
- A read made after a write returned sees it.
- ``settle_item`` and ``reopen_output`` read and write in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import PurePosixPath
from typing import Any, Protocol

import msgspec

from ._stages import ItemStage, OutputStage, Step

__all__ = ["ItemRow", "JobStore", "NewItem", "OutputRow"]


class NewItem(msgspec.Struct, frozen=True):
    """An input found by discovery, as the journal adds it (a struct: one is built per input)."""

    key: str
    name: str
    source: str
    rel: str
    rel_dir: str = ""
    label: str | None = None
    size: int | None = None
    duration: float | None = None
    chars: int = 0
    n_targets: int = 0
    extra: dict[str, Any] | None = None
    error: str | None = None  # set: the item failed validation


class ItemRow(msgspec.Struct, frozen=True):
    """An item as stored (its fields are the columns read, in this order: ``ITEM_COLUMNS``).

    A frozen ``msgspec.Struct``: rows are built for every item at every step, and a struct
    costs a fraction of a frozen dataclass to build (``msgspec.structs.replace`` to change one).
    """

    seq: int
    key: str
    name: str
    source: str
    rel: str
    rel_dir: str
    label: str | None
    size: int | None
    duration: float | None
    extra: dict[str, Any]
    stage: ItemStage
    folder_id: str | None
    original_id: str | None
    original_state: str | None
    intent_at: float | None
    attempts: int
    error: str | None
    error_stage: str | None


class OutputRow(msgspec.Struct, frozen=True):
    """An output as stored (fields: the columns ``OUTPUT_COLUMNS``, in this order)."""

    item_seq: int
    target: int
    recording_id: str | None
    stage: OutputStage
    retries: int
    url: str | None
    path: str | None
    size: int | None
    error: str | None


_FAILED, _PENDING, _VALIDATE = ItemStage.FAILED.value, ItemStage.PENDING.value, Step.VALIDATE.value

#: The columns a new item is inserted with, in the order of ``new_item_values``.
NEW_ITEM_COLUMNS = "key, name, source, rel, rel_dir, label, size, duration, chars, n_targets, extra, stage, error_stage, error, updated_at"


def new_item_values(item: NewItem, rel: str, now: float) -> tuple[Any, ...]:
    """A new item's values for ``NEW_ITEM_COLUMNS`` (``rel`` made unique by the store)."""
    return (
        item.key,
        item.name,
        item.source,
        rel,
        item.rel_dir,
        item.label,
        item.size,
        item.duration,
        item.chars,
        item.n_targets,
        json.dumps(item.extra) if item.extra else None,
        _FAILED if item.error else _PENDING,  # plain text: a database driver binds it without adapting
        _VALIDATE if item.error else None,
        item.error,
        now,
    )


def numbered_rel(rel: str, n: int) -> str:
    """The ``n``-th name for a second input with the same relative path: ``a/b-2.wav``."""
    base = PurePosixPath(rel)
    return str(base.with_name(f"{base.stem}-{n}{base.suffix}"))


#: What every store selects to read rows: the fields' names, so a row's columns are its fields, in order.
ITEM_COLUMNS = ", ".join(ItemRow.__struct_fields__)
OUTPUT_COLUMNS = ", ".join(OutputRow.__struct_fields__)
_ITEM_STAGES = {stage.value: stage for stage in ItemStage}
_OUTPUT_STAGES = {stage.value: stage for stage in OutputStage}


def item_from_row(row: Sequence[Any]) -> ItemRow:
    """An item from a row of ``SELECT {ITEM_COLUMNS}`` (a ``sqlite3.Row`` or an ``asyncpg.Record`` alike).

    The row is unpacked into the fields' names rather than read by name: a name lookup in a
    ``sqlite3.Row`` scans its columns, and 18 of them per item cost more than the query.
    """
    seq, key, name, source, rel, rel_dir, label, size, duration, extra, stage, *rest = row
    extra = json.loads(extra) if extra else {}
    return ItemRow(seq, key, name, source, rel, rel_dir, label, size, duration, extra, _ITEM_STAGES[stage], *rest)


def output_from_row(row: Sequence[Any]) -> OutputRow:
    """An output from a row of ``SELECT {OUTPUT_COLUMNS}`` (unpacked into the fields' names, see ``item_from_row``)."""
    item_seq, target, recording_id, stage, *rest = row
    return OutputRow(item_seq, target, recording_id, _OUTPUT_STAGES[stage], *rest)


class JobStore(Protocol):
    """A job's durable state: items, their outputs, folders and a few meta values (JSON)."""

    async def open(self) -> JobStore: ...

    async def close(self) -> None: ...

    # -- meta and folders
    async def get_meta(self, key: str) -> Any: ...

    async def set_meta(self, values: dict[str, Any]) -> None: ...

    async def folder(self, rel_dir: str) -> str | None: ...

    async def set_folder(self, rel_dir: str, folder_id: str) -> None:
        """Record a folder's id and give it to the items of that directory."""

    async def folder_rel_dirs(self) -> list[str]:
        """The distinct input directories of items that have not failed."""

    # -- discovery
    async def known_keys(self, keys: Sequence[str]) -> set[str]: ...

    async def add_items(self, items: Sequence[NewItem]) -> int:
        """Insert new items (known keys left alone; output names made unique); returns how many."""

    # -- reading
    async def items_in_stages(self, stages: Sequence[ItemStage], after: int, limit: int) -> list[ItemRow]:
        """Up to ``limit`` items in ``stages`` with ``seq > after``, in ``seq`` order."""

    async def item(self, seq: int) -> ItemRow: ...

    async def outputs_of(self, seq: int) -> list[OutputRow]: ...

    async def outputs_in_stage(self, stage: OutputStage, after: tuple[int, int], limit: int) -> list[OutputRow]: ...

    async def counts(self) -> dict[str, int]:
        """Items per stage."""

    async def plan_totals(self) -> dict[str, float]:
        """``items, invalid, duration, unknown, charge, remaining, chars, targets`` (see ``_plan``)."""

    async def failures(self, limit: int) -> tuple[list[tuple[str, str, str, str]], int]:
        """The first ``limit`` failed items as ``(key, name, error_stage, error)``, and how many in all."""

    async def output_files(self, limit: int) -> tuple[list[str], int]: ...

    # -- stage transitions
    async def set_stage(self, seq: int, stage: ItemStage, *, intent: bool = False) -> None:
        """Move an item; with ``intent`` the time is recorded (the server may act from now on)."""

    async def set_created(self, seq: int, original_id: str) -> None: ...

    async def set_ordering(self, seq: int, original_id: str) -> None:
        """``set_created`` and the order's intent (``set_stage(ORDERING, intent=True)``) as one write.

        For an original just made whose order is sent next: one statement instead of two
        on the same row.  An intent: it returns once durable.
        """

    async def set_converting(self, seq: int, outputs: Iterable[tuple[int, str]], round_no: int) -> None:
        """The conversion ids (target -1: the original itself) are known: the item waits for them."""

    async def fail_item(self, seq: int, step: Step, reason: str) -> None: ...

    # -- watching and downloading
    async def lookup(
        self, ids: Sequence[str], errored: Sequence[str] = ()
    ) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
        """The awaited outputs (``processing``/``retrying``) among recordings ``ids``, and the
        active items whose original is one of ``errored`` (by original id)."""

    async def watched(self, before_round: int) -> list[str]:
        """Recordings awaited, but those journaled during round ``before_round`` (the listing may predate them).

        Not ``since_round < before_round``: rounds restart at 0 in each run (and worker), so an
        output an earlier run journaled in a later round is awaited too.
        """

    async def has_watched(self) -> bool: ...

    async def any_created(self) -> bool:
        """Whether any intent was ever written (a fresh job has none)."""

    async def set_original_state(self, seq: int, state: str) -> None: ...

    async def set_output(
        self,
        seq: int,
        target: int,
        stage: OutputStage,
        *,
        url: str | None = None,
        path: str | None = None,
        size: int | None = None,
        error: str | None = None,
        add_retry: bool = False,
        recording_id: str | None = None,
    ) -> None: ...

    async def settle_item(self, seq: int) -> ItemStage | None:
        """Finish a converting item whose outputs are all final: ``DONE`` or ``FAILED``; ``None`` if some are not."""

    async def set_downloaded(self, seq: int, target: int, *, path: str, size: int, url: str | None) -> ItemStage | None:
        """An output is on disk: ``set_output(DOWNLOADED)`` and ``settle_item`` in one transaction."""

    async def unsettled_items(self) -> list[int]:
        """Converting items whose outputs are all final (a run stopped between the two writes)."""

    async def converting_items(self) -> list[int]: ...

    async def reopen_output(self, seq: int, target: int) -> ItemStage:
        """A downloaded file went missing: download it again.  Returns the item's previous stage."""

    async def reopen_failed(self) -> int:
        """Failed items made pending again (``retry_failed``), each resuming from what it has; how many.

        Validation failures are forgotten (discovery checks the input again); failed outputs
        with a link go back to ``converted``, others to ``processing`` with no retries spent.
        """

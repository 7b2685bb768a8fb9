"""Rebuilding a named job's state from the server when its journal is lost (``job_id=``).

A job started with ``job_id="NAME"`` marks its originals with labels derived from the
name and each item's path relative to its input (``_reconcile.marked_label``), and keeps
them in a folder named after the job.  A fresh journal for the same name (the old one
deleted, or the job moved to another machine) is filled from what the server holds
before anything is sent: originals are found by label in the job's folders, their
conversions by voice and label, so nothing is uploaded or ordered twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._client import VoiceClient
from .._models import Recording
from ._context import CHUNK, JobKind
from ._reconcile import match_conversions
from ._stages import ItemStage
from ._store import JobStore

__all__ = ["Rebuilt", "rebuild_from_server"]


@dataclass(frozen=True)
class Rebuilt:
    """What the server already had: originals found, items found fully ordered, partly ordered."""

    originals: int = 0
    ordered: int = 0
    partly_ordered: int = 0


async def _folder_ids(journal: JobStore) -> list[str]:
    ids = [await journal.folder(rel_dir) for rel_dir in ("", *await journal.folder_rel_dirs())]
    return sorted({i for i in ids if i is not None})


async def rebuild_from_server(client: VoiceClient, journal: JobStore, kind: JobKind) -> Rebuilt:
    """Move pending items whose original (and conversions) the server already has; one listing per folder."""
    originals: dict[tuple[str, str], Recording] = {}
    conversions: dict[str, list[Recording]] = {}
    for folder_id in await _folder_ids(journal):
        async for recording in client.recordings.list(folder_id=folder_id, limit=200, direction="asc"):
            if recording.original_id:
                conversions.setdefault(recording.original_id, []).append(recording)
            elif recording.label:
                originals[(folder_id, recording.label)] = recording  # ascending: the newest wins
    found = ordered = partly = 0
    after = 0
    while rows := await journal.items_in_stages((ItemStage.PENDING,), after, CHUNK):
        for row in rows:
            after = row.seq
            if row.folder_id is None or row.label is None:
                continue
            original = originals.get((row.folder_id, row.label))
            if original is None or (row.size is not None and original.size not in (None, row.size)):
                continue
            found += 1
            await journal.set_created(row.seq, original.id)
            targets = kind.targets_for(row)
            if not targets:  # a TTS original without conversions is itself the output
                await journal.set_converting(row.seq, [(-1, original.id)], 0)
                ordered += 1
                continue
            placed = match_conversions(conversions.get(original.id, ()), targets)
            if len(placed) == len(targets):
                await journal.set_converting(row.seq, sorted(placed.items()), 0)
                ordered += 1
            elif placed:  # part of an order went through: the order step asks the server before ordering the rest
                await journal.set_stage(row.seq, ItemStage.ORDERING, intent=True)
                partly += 1
    return Rebuilt(found, ordered, partly)

"""Reading a job's journal without running the job: counts, failures, and every item with its outputs.

For a ``status`` command or a report written after a run.  Plain synchronous ``sqlite3``
on a read-only connection: no event loop, no API call, and safe while a job runs (WAL
readers do not block the writer).  Items are read in chunks, so a journal of 100k items
is never in memory at once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from ._errors import JournalVersionError
from ._events import ItemFailure
from ._job import JOURNAL_NAME
from ._journal import ItemRow, connect_readonly, read_failures, read_items, read_meta, read_totals
from ._stages import FINAL_ITEM_STAGES, ItemStage

__all__ = ["ItemReport", "JournalReport", "OutputReport", "read_journal"]


class OutputReport(msgspec.Struct, frozen=True, kw_only=True):
    """One result of an item: ``target`` is the target's label (``"original"``: a TTS original itself)."""

    target: str
    recording_id: str | None
    state: str
    path: str | None
    size: int | None
    error: str | None


class ItemReport(msgspec.Struct, frozen=True, kw_only=True):
    """One input and what became of it.  ``source`` is the file path (TTS: the text)."""

    key: str
    name: str
    source: str
    stage: str
    label: str | None
    original_id: str | None
    error_stage: str | None
    error: str | None
    outputs: tuple[OutputReport, ...]


def _labels(targets: Any) -> tuple[str, ...]:
    return tuple(str(t.get("label", "")) for t in targets or ())


class JournalReport:
    """A snapshot of a journal's totals (read at construction); ``items()``/``failures()`` read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            db = connect_readonly(path)
        except JournalVersionError:
            raise
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{path} is not a voiceapi-async job journal ({exc})") from None
        try:
            identity = read_meta(db, "identity") or {}
            self.job_id: str | None = read_meta(db, "job_id")
            self.targets = _labels(read_meta(db, "resolved_targets"))
            self.counts: dict[str, int]
            self.outputs: dict[str, int]
            self.counts, self.failed, self.outputs, self.max_outputs = read_totals(db)
        finally:
            db.close()
        self.kind: str = identity.get("kind", "")
        self.project: str | None = identity.get("project")
        self.folder: str | None = identity.get("folder")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return self.counts.get(ItemStage.DONE, 0)

    @property
    def unfinished(self) -> int:
        """Items a run would still work on (a re-run resumes them)."""
        return sum(n for stage, n in self.counts.items() if stage not in FINAL_ITEM_STAGES)

    @property
    def status(self) -> str:
        """``completed``, ``completed_with_failures``, or ``incomplete`` (run the job again to finish it)."""
        if self.unfinished:
            return "incomplete"
        return "completed_with_failures" if self.failed else "completed"

    def failures(self, limit: int = 1000) -> list[ItemFailure]:
        """The first ``limit`` failed items, in input order (``self.failed`` counts them all)."""
        db = connect_readonly(self.path)
        try:
            rows = read_failures(db, limit)
        finally:
            db.close()
        return [ItemFailure(key=k, name=n, stage=s, reason=r) for k, n, s, r in rows]

    def items(self, chunk: int = 500) -> Iterator[ItemReport]:
        """Every item in input order, with its outputs, read ``chunk`` items at a time."""
        db = connect_readonly(self.path)
        try:
            after = 0
            while page := read_items(db, after, chunk):
                for item, outputs in page:
                    yield ItemReport(
                        key=item.key,
                        name=item.name,
                        source=item.source,
                        stage=item.stage.value,
                        label=item.label,
                        original_id=item.original_id,
                        error_stage=item.error_stage,
                        error=item.error,
                        outputs=tuple(
                            OutputReport(
                                target=self._target_label(item, out.target),
                                recording_id=out.recording_id,
                                state=out.stage.value,
                                path=out.path,
                                size=out.size,
                                error=out.error,
                            )
                            for out in outputs
                        ),
                    )
                after = page[-1][0].seq
        finally:
            db.close()

    def _target_label(self, item: ItemRow, target: int) -> str:
        own = item.extra.get("targets")
        labels = _labels(own) if own is not None else self.targets
        return labels[target] if 0 <= target < len(labels) else "original"


def read_journal(path: str | Path) -> JournalReport:
    """Open a job's journal (the file, or the output directory holding ``.voiceapi-job.sqlite``) read-only.

    Raises ``FileNotFoundError`` when there is none, ``ValueError`` for a file that is not a journal.
    """
    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no job journal at {path}")
    return JournalReport(path)

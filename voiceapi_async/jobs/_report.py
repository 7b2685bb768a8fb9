"""Reading a job's journal without running the job: counts, failures, and every item with its outputs.

For a ``status`` command or a report written after a run.  Plain synchronous ``sqlite3``
on a read-only connection: no event loop, no API call, and safe while a job runs (WAL
readers do not block the writer).  Items are read in chunks, so a journal of 100k items
is never in memory at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from ._events import ItemFailure
from ._job import JOURNAL_NAME
from ._journal import _ITEM_COLS, _OUTPUT_COLS, COUNTS_SQL, FAILED_COUNT_SQL, FAILURES_SQL, ItemRow, _item, _output

__all__ = ["ItemReport", "JournalReport", "OutputReport", "read_journal"]

_FINAL = ("done", "failed")


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


def _connect(path: Path) -> sqlite3.Connection:
    """A connection that cannot write.  ``query_only`` rather than ``mode=ro`` where possible: the last
    connection to close then tidies the WAL files away, which a ``mode=ro`` one cannot do."""
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=rw", uri=True)
    except sqlite3.OperationalError:  # no write access to the file or its directory
        return sqlite3.connect(f"{uri}?mode=ro", uri=True)
    db.execute("PRAGMA query_only = ON")
    return db


def _meta(db: sqlite3.Connection, key: str) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _labels(targets: Any) -> tuple[str, ...]:
    return tuple(str(t.get("label", "")) for t in targets or ())


class JournalReport:
    """A snapshot of a journal's totals (read at construction); ``items()``/``failures()`` read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        db = _connect(path)
        try:
            try:
                identity = _meta(db, "identity") or {}
            except sqlite3.DatabaseError as exc:
                raise ValueError(f"{path} is not a voiceapi-async job journal ({exc})") from None
            self.job_id: str | None = _meta(db, "job_id")
            self.targets = _labels(_meta(db, "resolved_targets"))
            self.counts: dict[str, int] = dict(db.execute(COUNTS_SQL).fetchall())
            self.failed: int = db.execute(FAILED_COUNT_SQL).fetchone()[0]
            self.outputs: dict[str, int] = dict(
                db.execute("SELECT stage, count(*) FROM outputs GROUP BY stage").fetchall()
            )
            # The widest item: how many output columns a flat (CSV) report needs.
            self.max_outputs: int = db.execute(
                "SELECT max(coalesce((SELECT max(n_targets) FROM items), 0),"
                " coalesce((SELECT max(n) FROM (SELECT count(*) AS n FROM outputs GROUP BY item_seq)), 0))"
            ).fetchone()[0]
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
        return self.counts.get("done", 0)

    @property
    def unfinished(self) -> int:
        """Items a run would still work on (a re-run resumes them)."""
        return sum(n for stage, n in self.counts.items() if stage not in _FINAL)

    @property
    def status(self) -> str:
        """``completed``, ``completed_with_failures``, or ``incomplete`` (run the job again to finish it)."""
        if self.unfinished:
            return "incomplete"
        return "completed_with_failures" if self.failed else "completed"

    def failures(self, limit: int = 1000) -> list[ItemFailure]:
        """The first ``limit`` failed items, in input order (``self.failed`` counts them all)."""
        db = _connect(self.path)
        try:
            rows = db.execute(FAILURES_SQL, (limit,)).fetchall()
        finally:
            db.close()
        return [ItemFailure(key=k, name=n, stage=s, reason=r) for k, n, s, r in rows]

    def items(self, chunk: int = 500) -> Iterator[ItemReport]:
        """Every item in input order, with its outputs, read ``chunk`` items at a time."""
        db = _connect(self.path)
        try:
            after = 0
            while True:
                rows = [
                    _item(r)
                    for r in db.execute(
                        f"SELECT {_ITEM_COLS} FROM items WHERE seq > ? ORDER BY seq LIMIT ?", (after, chunk)
                    )
                ]
                if not rows:
                    return
                by_seq = {r.seq: r for r in rows}
                outputs: dict[int, list[OutputReport]] = {}
                for row in db.execute(
                    f"SELECT {_OUTPUT_COLS} FROM outputs WHERE item_seq BETWEEN ? AND ? ORDER BY item_seq, target",
                    (rows[0].seq, rows[-1].seq),
                ):
                    out = _output(row)
                    outputs.setdefault(out.item_seq, []).append(
                        OutputReport(
                            target=self._target_label(by_seq[out.item_seq], out.target),
                            recording_id=out.recording_id,
                            state=out.stage,
                            path=out.path,
                            size=out.size,
                            error=out.error,
                        )
                    )
                for r in rows:
                    yield ItemReport(
                        key=r.key,
                        name=r.name,
                        source=r.source,
                        stage=r.stage,
                        label=r.label,
                        original_id=r.original_id,
                        error_stage=r.error_stage,
                        error=r.error,
                        outputs=tuple(outputs.get(r.seq, ())),
                    )
                after = rows[-1].seq
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

"""The SQLite journal: every item's stage and server ids, so a re-run resumes where a run stopped.

One connection, used only from one dedicated worker thread (calls are queued to it),
in WAL mode with ``synchronous=NORMAL``: a commit survives a killed process, and is
cheap enough to make every *intent* (written before a non-idempotent request) durable
on its own, while poll results are written a page (up to 200 rows) per transaction.

Item stages: ``pending`` (validated) -> ``creating`` (upload/TTS intent) -> ``created``
(original id known) -> ``ordering`` (order intent) -> ``converting`` (conversion ids
known) -> ``done``; or ``failed`` at any point.  Output stages (one row per item and
target; target ``-1`` is the TTS original itself): ``processing`` -> ``converted``
(url known) -> ``downloaded``; ``retrying`` while an ``orders.retry`` is uncertain;
or ``failed``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

__all__ = ["ACTIVE_ITEM_STAGES", "ItemRow", "Journal", "NewItem", "OutputRow"]

T = TypeVar("T")
SCHEMA_VERSION = 1
ACTIVE_ITEM_STAGES = ("creating", "created", "ordering", "converting")
SUBMIT_STAGES = ("pending", "creating", "created", "ordering")
FINAL_OUTPUT_STAGES = ("downloaded", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    rel TEXT NOT NULL UNIQUE,
    rel_dir TEXT NOT NULL DEFAULT '',
    label TEXT,
    size INTEGER,
    duration REAL,
    chars INTEGER NOT NULL DEFAULT 0,
    n_targets INTEGER NOT NULL DEFAULT 0,
    extra TEXT,
    stage TEXT NOT NULL,
    folder_id TEXT,
    original_id TEXT,
    original_state TEXT,
    intent_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_stage TEXT,
    error TEXT,
    updated_at REAL
);
CREATE INDEX IF NOT EXISTS items_stage ON items (stage, seq);
CREATE INDEX IF NOT EXISTS items_original ON items (original_id);
CREATE TABLE IF NOT EXISTS outputs (
    item_seq INTEGER NOT NULL REFERENCES items (seq),
    target INTEGER NOT NULL,
    recording_id TEXT,
    stage TEXT NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0,
    since_round INTEGER NOT NULL DEFAULT 0,
    url TEXT,
    path TEXT,
    size INTEGER,
    error TEXT,
    PRIMARY KEY (item_seq, target)
);
CREATE INDEX IF NOT EXISTS outputs_recording ON outputs (recording_id);
CREATE INDEX IF NOT EXISTS outputs_stage ON outputs (stage);
CREATE TABLE IF NOT EXISTS folders (
    rel_dir TEXT PRIMARY KEY,
    folder_id TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class NewItem:
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


@dataclass(frozen=True)
class ItemRow:
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
    stage: str
    folder_id: str | None
    original_id: str | None
    original_state: str | None
    intent_at: float | None
    attempts: int
    error: str | None
    error_stage: str | None


@dataclass(frozen=True)
class OutputRow:
    item_seq: int
    target: int
    recording_id: str | None
    stage: str
    retries: int
    url: str | None
    path: str | None
    size: int | None
    error: str | None


_ITEM_COLS = (
    "seq, key, name, source, rel, rel_dir, label, size, duration, extra, stage, folder_id, original_id, "
    "original_state, intent_at, attempts, error, error_stage"
)
_OUTPUT_COLS = "item_seq, target, recording_id, stage, retries, url, path, size, error"
# Read-only queries shared with ``_report`` (which reads a journal without running a job).
COUNTS_SQL = "SELECT stage, count(*) FROM items GROUP BY stage"
FAILURES_SQL = (
    "SELECT key, name, coalesce(error_stage, ''), coalesce(error, '') FROM items"
    " WHERE stage = 'failed' ORDER BY seq LIMIT ?"
)
FAILED_COUNT_SQL = "SELECT count(*) FROM items WHERE stage = 'failed'"


def _item(row: Sequence[Any]) -> ItemRow:
    values = list(row)
    values[9] = json.loads(values[9]) if values[9] else {}
    return ItemRow(*values)


def _output(row: Sequence[Any]) -> OutputRow:
    return OutputRow(*row)


class Journal:
    """Async facade over one SQLite connection living in one worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voiceapi-journal")
        self._conn: sqlite3.Connection | None = None

    # -- plumbing -------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    @property
    def db(self) -> sqlite3.Connection:
        assert self._conn is not None, "journal is not open"
        return self._conn

    async def open(self) -> Journal:
        def connect() -> None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._conn = conn

        await self._run(connect)
        return self

    async def close(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        try:
            await self._run(close)
        finally:
            self._executor.shutdown(wait=True)

    def _tx(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = statements(db)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    # -- meta and folders -----------------------------------------------------------------

    async def get_meta(self, key: str) -> Any:
        def get() -> Any:
            row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return json.loads(row[0]) if row else None

        return await self._run(get)

    async def set_meta(self, values: dict[str, Any]) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in values.items()])

        await self._run(self._tx, put)

    async def folder(self, rel_dir: str) -> str | None:
        def get() -> str | None:
            row = self.db.execute("SELECT folder_id FROM folders WHERE rel_dir = ?", (rel_dir,)).fetchone()
            return str(row[0]) if row else None

        return await self._run(get)

    async def set_folder(self, rel_dir: str, folder_id: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO folders (rel_dir, folder_id) VALUES (?, ?)", (rel_dir, folder_id))
            db.execute("UPDATE items SET folder_id = ? WHERE rel_dir = ? AND folder_id IS NULL", (folder_id, rel_dir))

        await self._run(self._tx, put)

    async def folder_rel_dirs(self) -> list[str]:
        """The distinct folders items need (one row per input directory when mirroring)."""

        def get() -> list[str]:
            rows = self.db.execute("SELECT DISTINCT rel_dir FROM items WHERE stage != 'failed' ORDER BY rel_dir")
            return [r[0] for r in rows]

        return await self._run(get)

    # -- discovery ------------------------------------------------------------------------

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        def get() -> set[str]:
            marks = ",".join("?" * len(keys))
            return {r[0] for r in self.db.execute(f"SELECT key FROM items WHERE key IN ({marks})", list(keys))}

        return await self._run(get) if keys else set()

    async def add_items(self, items: Sequence[NewItem]) -> int:
        """Insert new items (known keys are left alone); output names are made unique.  Returns how many."""

        def put(db: sqlite3.Connection) -> int:
            added = 0
            now = time.time()
            for it in items:
                if db.execute("SELECT 1 FROM items WHERE key = ?", (it.key,)).fetchone():
                    continue
                rel, n = it.rel, 1
                while db.execute("SELECT 1 FROM items WHERE rel = ?", (rel,)).fetchone():
                    n += 1
                    base = PurePosixPath(it.rel)
                    rel = str(base.with_name(f"{base.stem}-{n}{base.suffix}"))
                db.execute(
                    "INSERT INTO items (key, name, source, rel, rel_dir, label, size, duration, chars, n_targets,"
                    " extra, stage, error_stage, error, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        it.key,
                        it.name,
                        it.source,
                        rel,
                        it.rel_dir,
                        it.label,
                        it.size,
                        it.duration,
                        it.chars,
                        it.n_targets,
                        json.dumps(it.extra) if it.extra else None,
                        "failed" if it.error else "pending",
                        "validate" if it.error else None,
                        it.error,
                        now,
                    ),
                )
                added += 1
            return added

        return await self._run(self._tx, put)

    # -- reading in chunks ----------------------------------------------------------------

    async def items_in_stages(self, stages: Sequence[str], after: int, limit: int) -> list[ItemRow]:
        def get() -> list[ItemRow]:
            marks = ",".join("?" * len(stages))
            rows = self.db.execute(
                f"SELECT {_ITEM_COLS} FROM items WHERE stage IN ({marks}) AND seq > ? ORDER BY seq LIMIT ?",
                (*stages, after, limit),
            )
            return [_item(r) for r in rows]

        return await self._run(get)

    async def item(self, seq: int) -> ItemRow:
        def get() -> ItemRow:
            return _item(self.db.execute(f"SELECT {_ITEM_COLS} FROM items WHERE seq = ?", (seq,)).fetchone())

        return await self._run(get)

    async def outputs_of(self, seq: int) -> list[OutputRow]:
        def get() -> list[OutputRow]:
            rows = self.db.execute(f"SELECT {_OUTPUT_COLS} FROM outputs WHERE item_seq = ? ORDER BY target", (seq,))
            return [_output(r) for r in rows]

        return await self._run(get)

    async def outputs_in_stage(self, stage: str, after: tuple[int, int], limit: int) -> list[OutputRow]:
        def get() -> list[OutputRow]:
            rows = self.db.execute(
                f"SELECT {_OUTPUT_COLS} FROM outputs WHERE stage = ? AND (item_seq, target) > (?, ?)"
                " ORDER BY item_seq, target LIMIT ?",
                (stage, *after, limit),
            )
            return [_output(r) for r in rows]

        return await self._run(get)

    async def counts(self) -> dict[str, int]:
        def get() -> dict[str, int]:
            return dict(self.db.execute(COUNTS_SQL).fetchall())

        return await self._run(get)

    async def plan_totals(self) -> dict[str, float]:
        def get() -> dict[str, float]:
            row = self.db.execute(
                "SELECT count(*), coalesce(sum(stage = 'failed' AND error_stage = 'validate'), 0),"
                " coalesce(sum(duration), 0),"
                " coalesce(sum(duration IS NULL AND NOT (stage = 'failed' AND error_stage = 'validate')), 0),"
                " coalesce(sum(coalesce(duration, 0) * n_targets), 0),"
                " coalesce(sum(CASE WHEN stage IN ('pending', 'creating', 'created', 'ordering')"
                "   THEN coalesce(duration, 0) * n_targets ELSE 0 END), 0),"
                " coalesce(sum(chars), 0), coalesce(max(n_targets), 0)"
                " FROM items"
            ).fetchone()
            names = ("items", "invalid", "duration", "unknown", "charge", "remaining", "chars", "targets")
            return dict(zip(names, row, strict=True))

        return await self._run(get)

    async def failures(self, limit: int) -> tuple[list[tuple[str, str, str, str]], int]:
        def get() -> tuple[list[tuple[str, str, str, str]], int]:
            rows = self.db.execute(FAILURES_SQL, (limit,)).fetchall()
            total = self.db.execute(FAILED_COUNT_SQL).fetchone()[0]
            return rows, total

        return await self._run(get)

    async def output_files(self, limit: int) -> tuple[list[str], int]:
        """The first ``limit`` downloaded paths and how many there are in all (memory stays flat)."""

        def get() -> tuple[list[str], int]:
            rows = self.db.execute(
                "SELECT path FROM outputs WHERE stage = 'downloaded' ORDER BY item_seq, target LIMIT ?", (limit,)
            ).fetchall()
            total = self.db.execute("SELECT count(*) FROM outputs WHERE stage = 'downloaded'").fetchone()[0]
            return [r[0] for r in rows], total

        return await self._run(get)

    # -- stage transitions ------------------------------------------------------------------

    async def set_stage(
        self, seq: int, stage: str, *, intent: bool = False, label: str | None = None, count_attempt: bool = False
    ) -> None:
        """Move an item; with ``intent`` the time is recorded (the server may act from now on)."""

        def put(db: sqlite3.Connection) -> None:
            now = time.time()
            db.execute(
                "UPDATE items SET stage = ?, updated_at = ?, intent_at = CASE WHEN ? THEN ? ELSE intent_at END,"
                " label = coalesce(?, label), attempts = attempts + ? WHERE seq = ?",
                (stage, now, intent, now, label, int(count_attempt), seq),
            )

        await self._run(self._tx, put)

    async def set_created(self, seq: int, original_id: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE items SET stage = 'created', original_id = ?, attempts = 0, updated_at = ? WHERE seq = ?",
                (original_id, time.time(), seq),
            )

        await self._run(self._tx, put)

    async def set_converting(self, seq: int, outputs: Iterable[tuple[int, str]], round_no: int) -> None:
        """The conversion ids (or the original itself, target -1) are known: the item waits for them."""

        def put(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR REPLACE INTO outputs (item_seq, target, recording_id, stage, since_round)"
                " VALUES (?, ?, ?, 'processing', ?)",
                [(seq, target, rid, round_no) for target, rid in outputs],
            )
            db.execute("UPDATE items SET stage = 'converting', updated_at = ? WHERE seq = ?", (time.time(), seq))

        await self._run(self._tx, put)

    async def fail_item(self, seq: int, stage: str, reason: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE items SET stage = 'failed', error_stage = ?, error = ?, updated_at = ? WHERE seq = ?",
                (stage, reason, time.time(), seq),
            )
            db.execute(
                "UPDATE outputs SET stage = 'failed', error = coalesce(error, ?) WHERE item_seq = ?"
                " AND stage NOT IN ('downloaded', 'failed')",
                (reason, seq),
            )

        await self._run(self._tx, put)

    # -- polling ----------------------------------------------------------------------------

    async def lookup(self, ids: Sequence[str]) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
        """The outputs and the active items that the recordings of one poll page belong to."""

        def get() -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
            marks = ",".join("?" * len(ids))
            outs = {
                r[2]: _output(r)
                for r in self.db.execute(
                    f"SELECT {_OUTPUT_COLS} FROM outputs WHERE recording_id IN ({marks})", list(ids)
                )
            }
            items = {
                r[12]: _item(r)
                for r in self.db.execute(
                    f"SELECT {_ITEM_COLS} FROM items WHERE original_id IN ({marks})"
                    " AND stage IN ('created', 'ordering', 'converting')",
                    list(ids),
                )
            }
            return outs, items

        return await self._run(get) if ids else ({}, {})

    async def watched(self, before_round: int) -> list[str]:
        """Recordings the server owes us an answer for, known before round ``before_round`` started."""

        def get() -> list[str]:
            rows = self.db.execute(
                "SELECT o.recording_id FROM outputs o JOIN items i ON i.seq = o.item_seq"
                " WHERE o.stage IN ('processing', 'retrying') AND i.stage = 'converting' AND o.since_round < ?",
                (before_round,),
            )
            return [r[0] for r in rows]

        return await self._run(get)

    async def has_watched(self) -> bool:
        def get() -> bool:
            row = self.db.execute(
                "SELECT 1 FROM outputs o JOIN items i ON i.seq = o.item_seq"
                " WHERE o.stage IN ('processing', 'retrying') AND i.stage = 'converting' LIMIT 1"
            ).fetchone()
            return row is not None

        return await self._run(get)

    async def any_created(self) -> bool:
        def get() -> bool:
            return self.db.execute("SELECT 1 FROM items WHERE intent_at IS NOT NULL LIMIT 1").fetchone() is not None

        return await self._run(get)

    async def set_original_state(self, seq: int, state: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute("UPDATE items SET original_state = ? WHERE seq = ?", (state, seq))

        await self._run(self._tx, put)

    async def set_output(
        self,
        seq: int,
        target: int,
        stage: str,
        *,
        url: str | None = None,
        path: str | None = None,
        size: int | None = None,
        error: str | None = None,
        add_retry: bool = False,
        recording_id: str | None = None,
    ) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE outputs SET stage = ?, url = coalesce(?, url), path = coalesce(?, path),"
                " size = coalesce(?, size), error = ?, retries = retries + ?,"
                " recording_id = coalesce(?, recording_id) WHERE item_seq = ? AND target = ?",
                (stage, url, path, size, error, int(add_retry), recording_id, seq, target),
            )

        await self._run(self._tx, put)

    async def settle_item(self, seq: int) -> str | None:
        """Finish an item whose outputs are all final: ``done`` or ``failed``; ``None`` if some are not."""

        def put(db: sqlite3.Connection) -> str | None:
            if db.execute("SELECT stage FROM items WHERE seq = ?", (seq,)).fetchone()[0] != "converting":
                return None
            rows = db.execute("SELECT stage, error FROM outputs WHERE item_seq = ?", (seq,)).fetchall()
            if not rows or any(stage not in FINAL_OUTPUT_STAGES for stage, _ in rows):
                return None
            errors = [e or "failed" for stage, e in rows if stage == "failed"]
            if errors:
                db.execute(
                    "UPDATE items SET stage = 'failed', error_stage = 'convert', error = ?, updated_at = ?"
                    " WHERE seq = ?",
                    ("; ".join(dict.fromkeys(errors)), time.time(), seq),
                )
                return "failed"
            db.execute("UPDATE items SET stage = 'done', updated_at = ? WHERE seq = ?", (time.time(), seq))
            return "done"

        return await self._run(self._tx, put)

    async def unsettled_items(self) -> list[int]:
        """Converting items whose outputs are all final (a run stopped between the two writes)."""

        def get() -> list[int]:
            rows = self.db.execute(
                "SELECT seq FROM items i WHERE stage = 'converting' AND NOT EXISTS"
                " (SELECT 1 FROM outputs o WHERE o.item_seq = i.seq AND o.stage NOT IN ('downloaded', 'failed'))"
            )
            return [r[0] for r in rows]

        return await self._run(get)

    async def converting_items(self) -> list[int]:
        def get() -> list[int]:
            return [r[0] for r in self.db.execute("SELECT seq FROM items WHERE stage = 'converting'")]

        return await self._run(get)

    async def reopen_output(self, seq: int, target: int) -> str:
        """A downloaded file went missing or changed: download it again.  Returns the item's previous stage."""

        def put(db: sqlite3.Connection) -> str:
            stage: str = db.execute("SELECT stage FROM items WHERE seq = ?", (seq,)).fetchone()[0]
            db.execute(
                "UPDATE outputs SET stage = 'converted', size = NULL WHERE item_seq = ? AND target = ?", (seq, target)
            )
            db.execute("UPDATE items SET stage = 'converting', error = NULL, error_stage = NULL WHERE seq = ?", (seq,))
            return stage

        return await self._run(self._tx, put)

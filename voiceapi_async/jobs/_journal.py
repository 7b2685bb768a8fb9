"""The SQLite journal: the job store (``_store.JobStore``) behind every job, in the output directory.

Two connections in WAL mode with ``synchronous=NORMAL`` (a commit survives a killed
process): the event loop's, which writes (group commits, see ``Journal``) and makes point
reads, and a worker thread's for checkpoints and reads over the whole journal.
Stages are stored as the text of ``_stages.ItemStage``/``OutputStage``; rows are read
by column name.  This module holds all of the orchestrator's SQL; ``_report`` reads
through ``connect_readonly`` and the ``read_*`` functions.

``SCHEMA_VERSION`` is stored in the journal; opening a journal of another version
raises ``JournalVersionError`` rather than misreading it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ._errors import JournalVersionError
from ._stages import FINAL_OUTPUT_STAGES, SUBMIT_STAGES, WATCHED_OUTPUT_STAGES, ItemStage, OutputStage, Step
from ._store import (
    ITEM_COLUMNS,
    NEW_ITEM_COLUMNS,
    OUTPUT_COLUMNS,
    ItemRow,
    JobStore,
    NewItem,
    OutputRow,
    item_from_row,
    new_item_values,
    numbered_rel,
    output_from_row,
)

__all__ = [
    "SCHEMA_VERSION",
    "ItemRow",
    "Journal",
    "NewItem",
    "OutputRow",
    "connect_readonly",
    "read_failures",
    "read_items",
    "read_meta",
    "read_totals",
]

T = TypeVar("T")
#: The layout of the tables below; stored in ``meta`` and checked on open.
SCHEMA_VERSION = 1

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


_ITEM_COLS = ITEM_COLUMNS
_OUTPUT_COLS = OUTPUT_COLUMNS
_COUNTS_SQL = "SELECT stage, count(*) FROM items GROUP BY stage"
_FAILURES_SQL = (
    "SELECT key, name, coalesce(error_stage, ''), coalesce(error, '') FROM items WHERE stage = ? ORDER BY seq LIMIT ?"
)
_FAILED_COUNT_SQL = "SELECT count(*) FROM items WHERE stage = ?"


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _check_version(db: sqlite3.Connection, path: Path) -> bool:
    """``True`` for a journal of this version, ``False`` for an empty file; raises for another version."""
    has_meta = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return False
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = int(row[0]) if row and str(row[0]).isdigit() else None
    if found != SCHEMA_VERSION:
        raise JournalVersionError(path, found, SCHEMA_VERSION)
    return True


def _settle(db: sqlite3.Connection, seq: int) -> ItemStage | None:
    """``settle_item`` inside a transaction: two statements (it runs for every downloaded output)."""
    rows = db.execute("SELECT stage, error FROM outputs WHERE item_seq = ?", (seq,)).fetchall()
    if not rows or any(stage not in FINAL_OUTPUT_STAGES for stage, _ in rows):
        return None
    errors = [error or "failed" for stage, error in rows if stage == OutputStage.FAILED]
    outcome = ItemStage.FAILED if errors else ItemStage.DONE
    settled = db.execute(
        "UPDATE items SET stage = ?, error_stage = ?, error = ?, updated_at = ? WHERE seq = ? AND stage = ?",
        (
            outcome,
            Step.CONVERT if errors else None,
            "; ".join(dict.fromkeys(errors)) if errors else None,
            time.time(),
            seq,
            ItemStage.CONVERTING,
        ),
    )
    return outcome if settled.rowcount else None  # an item no longer converting is left as it is


# -- the read-only view (``read_journal``) ------------------------------------------------------


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write, to a journal of this schema version.

    ``query_only`` rather than ``mode=ro`` where possible: the last connection to close
    then tidies the WAL files away, which a ``mode=ro`` one cannot do.
    """
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=rw", uri=True)
    except sqlite3.OperationalError:  # no write access to the file or its directory
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    else:
        db.execute("PRAGMA query_only = ON")
    db.row_factory = sqlite3.Row
    try:
        if not _check_version(db, path):
            raise sqlite3.DatabaseError("no meta table")
    except BaseException:
        db.close()
        raise
    return db


def read_meta(db: sqlite3.Connection, key: str) -> Any:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def read_totals(db: sqlite3.Connection) -> tuple[dict[str, int], int, dict[str, int], int]:
    """Items per stage, failed items, outputs per stage, and the most outputs one item has."""
    counts = {r[0]: r[1] for r in db.execute(_COUNTS_SQL)}
    failed = db.execute(_FAILED_COUNT_SQL, (ItemStage.FAILED,)).fetchone()[0]
    outputs = {r[0]: r[1] for r in db.execute("SELECT stage, count(*) FROM outputs GROUP BY stage")}
    widest = db.execute(
        "SELECT max(coalesce((SELECT max(n_targets) FROM items), 0),"
        " coalesce((SELECT max(n) FROM (SELECT count(*) AS n FROM outputs GROUP BY item_seq)), 0))"
    ).fetchone()[0]
    return counts, failed, outputs, widest


def read_failures(db: sqlite3.Connection, limit: int) -> list[tuple[str, str, str, str]]:
    return [(r[0], r[1], r[2], r[3]) for r in db.execute(_FAILURES_SQL, (ItemStage.FAILED, limit))]


def read_items(db: sqlite3.Connection, after: int, limit: int) -> list[tuple[ItemRow, list[OutputRow]]]:
    """Up to ``limit`` items after ``after`` in input order, each with its outputs."""
    items = [
        item_from_row(r)
        for r in db.execute(f"SELECT {_ITEM_COLS} FROM items WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
    ]
    if not items:
        return []
    outputs: dict[int, list[OutputRow]] = {}
    for r in db.execute(
        f"SELECT {_OUTPUT_COLS} FROM outputs WHERE item_seq BETWEEN ? AND ? ORDER BY item_seq, target",
        (items[0].seq, items[-1].seq),
    ):
        out = output_from_row(r)
        outputs.setdefault(out.item_seq, []).append(out)
    return [(it, outputs.get(it.seq, [])) for it in items]


#: Group commits between two checkpoints (each commit appends a few pages to the WAL).
_CHECKPOINT_EVERY = 256


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Journal(JobStore):
    """The SQLite ``JobStore``.

    Writes are *grouped*: a write runs at once, on the event loop, inside the transaction
    open for this turn of the loop (opened by the turn's first write), and that
    transaction is committed at the start of the next turn.  An *intent* (``set_stage``
    with ``intent=True``, ``set_output`` to ``retrying``: written before a
    non-idempotent request) is answered only after that commit: it is durable before its
    request is sent; the commit is shared, never skipped.  Any other write is answered at
    once: it is visible to every read that follows, and durable with the next commit;
    commits keep the order of the writes, so a durable intent implies every write made
    before it is durable too (a killed run loses at most writes that a re-run redoes:
    state the server is asked for again, or a download made again).  In WAL mode with
    ``synchronous=NORMAL`` a commit appends a few pages to the WAL in the page cache and
    never calls ``fsync``, which costs less than handing the batch to a thread.  The
    fsyncs (checkpoints, which copy the WAL into the database) are switched off on that
    connection and run in a worker thread on a connection of their own, every
    ``_CHECKPOINT_EVERY`` commits; so do reads over the whole journal (counts, totals),
    after committing what is open.  Point reads (an item, a page of rows) run on the
    loop connection.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voiceapi-journal")
        self._conn: sqlite3.Connection | None = None  # the event loop's: writes and point reads
        self._worker: sqlite3.Connection | None = None  # the worker thread's: checkpoints and scans
        #: The writes of the open transaction (run again if a later one raises), and the intents waiting for it.
        self._open: list[Callable[[sqlite3.Connection], Any]] | None = None
        self._waiting: list[asyncio.Future[None]] = []
        #: A commit that failed: every write and scan after it raises (what is in memory is no longer journaled).
        self._broken: Exception | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._checkpointing: asyncio.Future[Any] | None = None
        self._since_checkpoint = 0
        #: Transactions committed and writes they held (group commits: writes > commits under load).
        self.commits = 0
        self.writes = 0
        self._scratch_dir: str | None = None
        self._copy_of: Path | None = None

    @classmethod
    def scratch(cls, copy_of: Path | None = None) -> Journal:
        """A throw-away journal in a temporary directory, for plans, dry runs and a run's checks.

        Nothing is written next to the job: a plan or a run that stops before starting
        leaves no journal behind to lock the output directory.  ``copy_of``: start from an
        existing journal's content (it is only read).  ``persist`` turns it into a real one.
        """
        scratch_dir = tempfile.mkdtemp(prefix="voiceapi-job-")
        journal = cls(Path(scratch_dir) / "journal.sqlite")
        journal._scratch_dir = scratch_dir
        journal._copy_of = copy_of if copy_of is not None and copy_of.is_file() else None
        weakref.finalize(journal, shutil.rmtree, scratch_dir, True)  # also if it is never closed
        return journal

    async def persist(self, path: Path) -> None:
        """Copy this (scratch) journal to ``path``, atomically: the job's real journal from now on."""

        def copy() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
            try:
                dest = sqlite3.connect(partial)
                try:
                    self.db.backup(dest)
                finally:
                    dest.close()
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)

        self._flush()
        await self._run(copy)

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
            conn = _connect(self.path)
            worker: sqlite3.Connection | None = None
            try:
                if self._copy_of is not None:
                    source = sqlite3.connect(self._copy_of)
                    try:
                        source.backup(conn)
                    finally:
                        source.close()
                conn.execute("PRAGMA journal_mode=WAL")
                if not _check_version(conn, self.path):
                    conn.executescript(_SCHEMA)
                    conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                conn.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints (fsync) run in the worker thread
                worker = _connect(self.path)
            except BaseException:
                conn.close()
                if worker is not None:
                    worker.close()
                raise
            self._conn, self._worker = conn, worker

        self._loop = asyncio.get_running_loop()
        try:
            await self._run(connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            raise
        return self

    async def close(self) -> None:
        def close() -> None:
            for conn in (self._worker, self._conn):  # the last one to close checkpoints and removes the WAL
                if conn is not None:
                    conn.close()
            self._conn = self._worker = None

        try:
            self._commit()  # writes of this turn (and intents whose callers were cancelled): still committed
            if self._checkpointing is not None:
                await asyncio.gather(self._checkpointing, return_exceptions=True)
            await self._run(close)
        finally:
            self._executor.shutdown(wait=True)
            if self._scratch_dir is not None:
                shutil.rmtree(self._scratch_dir, ignore_errors=True)

    def _apply(self, statements: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``statements`` now, in this loop turn's transaction; it is committed at the next turn.

        If ``statements`` raises, what it did is undone (the transaction is rolled back and
        the turn's earlier writes run again), and the error goes to its caller alone.
        """
        if self._broken is not None:
            raise sqlite3.OperationalError(f"the journal could not commit earlier: {self._broken}") from self._broken
        db = self.db
        if self._open is None:
            assert self._loop is not None, "journal is not open"
            db.execute("BEGIN IMMEDIATE")
            self._open = []
            self._loop.call_soon(self._commit)
        try:
            result = statements(db)
        except Exception:
            db.execute("ROLLBACK")
            db.execute("BEGIN IMMEDIATE")
            for write in self._open:
                write(db)
            raise
        self._open.append(statements)
        self.writes += 1
        return result

    async def _write(self, statements: Callable[[sqlite3.Connection], T], *, durable: bool = False) -> T:
        """A write (see the class docstring); with ``durable`` (an intent) it returns once committed."""
        result = self._apply(statements)
        if durable:
            assert self._loop is not None
            committed: asyncio.Future[None] = self._loop.create_future()
            self._waiting.append(committed)
            await committed
        return result

    def _commit(self) -> None:
        """Commit the open transaction, then answer the intents waiting for it."""
        if self._open is None:
            return
        waiting, self._open, self._waiting = self._waiting, None, []
        try:
            self.db.execute("COMMIT")
        except Exception as exc:
            self._broken = exc
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)
            return
        self.commits += 1
        for future in waiting:
            if not future.done():
                future.set_result(None)
        self._since_checkpoint += 1
        if self._since_checkpoint >= _CHECKPOINT_EVERY and self._checkpointing is None:
            self._checkpoint()

    def _flush(self) -> None:
        """Commit what is open now (before another connection or thread reads); raise if a commit failed."""
        self._commit()
        if self._broken is not None:
            raise sqlite3.OperationalError(f"the journal could not commit earlier: {self._broken}") from self._broken

    def _checkpoint(self) -> None:
        """Copy the WAL into the database (with its fsyncs) in the worker thread; writers go on meanwhile."""
        assert self._loop is not None
        self._since_checkpoint = 0

        def checkpoint() -> None:
            assert self._worker is not None
            self._worker.execute("PRAGMA wal_checkpoint(PASSIVE)")

        def finished(_: asyncio.Future[Any]) -> None:
            self._checkpointing = None

        self._checkpointing = self._loop.run_in_executor(self._executor, checkpoint)
        self._checkpointing.add_done_callback(finished)

    async def _read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """A point read, on the loop (see the class docstring)."""
        return query(self.db)

    async def _scan(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """A read over the whole journal, in the worker thread (after committing what is open)."""
        self._flush()

        def scan() -> T:
            assert self._worker is not None, "journal is not open"
            return query(self._worker)

        return await self._run(scan)

    # -- meta and folders -----------------------------------------------------------------

    async def get_meta(self, key: str) -> Any:
        return await self._read(lambda db: read_meta(db, key))

    async def set_meta(self, values: dict[str, Any]) -> None:
        rows = [(k, json.dumps(v)) for k, v in values.items()]
        await self._write(lambda db: db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", rows))

    async def folder(self, rel_dir: str) -> str | None:
        def get(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT folder_id FROM folders WHERE rel_dir = ?", (rel_dir,)).fetchone()
            return str(row[0]) if row else None

        return await self._read(get)

    async def set_folder(self, rel_dir: str, folder_id: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO folders (rel_dir, folder_id) VALUES (?, ?)", (rel_dir, folder_id))
            db.execute("UPDATE items SET folder_id = ? WHERE rel_dir = ? AND folder_id IS NULL", (folder_id, rel_dir))

        await self._write(put)

    async def folder_rel_dirs(self) -> list[str]:
        def get(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT DISTINCT rel_dir FROM items WHERE stage != ? ORDER BY rel_dir", (ItemStage.FAILED,)
            )
            return [r[0] for r in rows]

        return await self._scan(get)

    # -- discovery ------------------------------------------------------------------------

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        def get(db: sqlite3.Connection) -> set[str]:
            return {r[0] for r in db.execute(f"SELECT key FROM items WHERE key IN ({_marks(len(keys))})", list(keys))}

        return await self._read(get) if keys else set()

    async def add_items(self, items: Sequence[NewItem]) -> int:
        def put(db: sqlite3.Connection) -> int:
            added = 0
            now = time.time()
            for it in items:
                if db.execute("SELECT 1 FROM items WHERE key = ?", (it.key,)).fetchone():
                    continue
                rel, n = it.rel, 1
                while db.execute("SELECT 1 FROM items WHERE rel = ?", (rel,)).fetchone():
                    n += 1
                    rel = numbered_rel(it.rel, n)
                db.execute(
                    f"INSERT INTO items ({NEW_ITEM_COLUMNS}) VALUES ({_marks(15)})", new_item_values(it, rel, now)
                )
                added += 1
            return added

        return await self._write(put)

    # -- reading in chunks ----------------------------------------------------------------

    async def items_in_stages(self, stages: Sequence[ItemStage], after: int, limit: int) -> list[ItemRow]:
        def get(db: sqlite3.Connection) -> list[ItemRow]:
            rows = db.execute(
                f"SELECT {_ITEM_COLS} FROM items WHERE stage IN ({_marks(len(stages))}) AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (*stages, after, limit),
            )
            return [item_from_row(r) for r in rows]

        return await self._read(get)

    async def item(self, seq: int) -> ItemRow:
        return await self._read(
            lambda db: item_from_row(db.execute(f"SELECT {_ITEM_COLS} FROM items WHERE seq = ?", (seq,)).fetchone())
        )

    async def outputs_of(self, seq: int) -> list[OutputRow]:
        def get(db: sqlite3.Connection) -> list[OutputRow]:
            rows = db.execute(f"SELECT {_OUTPUT_COLS} FROM outputs WHERE item_seq = ? ORDER BY target", (seq,))
            return [output_from_row(r) for r in rows]

        return await self._read(get)

    async def outputs_in_stage(self, stage: OutputStage, after: tuple[int, int], limit: int) -> list[OutputRow]:
        def get(db: sqlite3.Connection) -> list[OutputRow]:
            rows = db.execute(
                f"SELECT {_OUTPUT_COLS} FROM outputs WHERE stage = ? AND (item_seq, target) > (?, ?)"
                " ORDER BY item_seq, target LIMIT ?",
                (stage, *after, limit),
            )
            return [output_from_row(r) for r in rows]

        return await self._read(get)

    async def counts(self) -> dict[str, int]:
        return await self._scan(lambda db: {r[0]: r[1] for r in db.execute(_COUNTS_SQL)})

    async def plan_totals(self) -> dict[str, float]:
        def get(db: sqlite3.Connection) -> dict[str, float]:
            row = db.execute(
                "SELECT count(*), coalesce(sum(stage = :failed AND error_stage = :validate), 0),"
                " coalesce(sum(duration), 0),"
                " coalesce(sum(duration IS NULL AND NOT (stage = :failed AND error_stage = :validate)), 0),"
                " coalesce(sum(coalesce(duration, 0) * n_targets), 0),"
                " coalesce(sum(CASE WHEN stage IN (:s0, :s1, :s2, :s3)"
                "   THEN coalesce(duration, 0) * n_targets ELSE 0 END), 0),"
                " coalesce(sum(chars), 0), coalesce(max(n_targets), 0)"
                " FROM items",
                {
                    "failed": ItemStage.FAILED,
                    "validate": Step.VALIDATE,
                    **{f"s{i}": stage for i, stage in enumerate(SUBMIT_STAGES)},
                },
            ).fetchone()
            names = ("items", "invalid", "duration", "unknown", "charge", "remaining", "chars", "targets")
            return dict(zip(names, row, strict=True))

        return await self._scan(get)

    async def failures(self, limit: int) -> tuple[list[tuple[str, str, str, str]], int]:
        def get(db: sqlite3.Connection) -> tuple[list[tuple[str, str, str, str]], int]:
            return read_failures(db, limit), db.execute(_FAILED_COUNT_SQL, (ItemStage.FAILED,)).fetchone()[0]

        return await self._scan(get)

    async def output_files(self, limit: int) -> tuple[list[str], int]:
        """The first ``limit`` downloaded paths and how many there are in all (memory stays flat)."""

        def get(db: sqlite3.Connection) -> tuple[list[str], int]:
            done = OutputStage.DOWNLOADED
            # DISTINCT: the parts of a long TTS text, once joined, share one file
            rows = db.execute(
                "SELECT path FROM outputs WHERE stage = ? GROUP BY path ORDER BY min(item_seq), min(target) LIMIT ?",
                (done, limit),
            ).fetchall()
            total = db.execute("SELECT count(DISTINCT path) FROM outputs WHERE stage = ?", (done,)).fetchone()[0]
            return [r[0] for r in rows], total

        return await self._scan(get)

    # -- stage transitions ------------------------------------------------------------------

    async def set_stage(
        self, seq: int, stage: ItemStage, *, intent: bool = False, label: str | None = None, count_attempt: bool = False
    ) -> None:
        def put(db: sqlite3.Connection) -> None:
            now = time.time()
            db.execute(
                "UPDATE items SET stage = ?, updated_at = ?, intent_at = CASE WHEN ? THEN ? ELSE intent_at END,"
                " label = coalesce(?, label), attempts = attempts + ? WHERE seq = ?",
                (stage, now, intent, now, label, int(count_attempt), seq),
            )

        await self._write(put, durable=intent)

    async def set_created(self, seq: int, original_id: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE items SET stage = ?, original_id = ?, attempts = 0, updated_at = ? WHERE seq = ?",
                (ItemStage.CREATED, original_id, time.time(), seq),
            )

        await self._write(put)

    async def set_converting(self, seq: int, outputs: Iterable[tuple[int, str]], round_no: int) -> None:
        rows = [(seq, target, rid, OutputStage.PROCESSING, round_no) for target, rid in outputs]

        def put(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT OR REPLACE INTO outputs (item_seq, target, recording_id, stage, since_round)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            db.execute(
                "UPDATE items SET stage = ?, updated_at = ? WHERE seq = ?", (ItemStage.CONVERTING, time.time(), seq)
            )

        await self._write(put)

    async def fail_item(self, seq: int, step: Step, reason: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE items SET stage = ?, error_stage = ?, error = ?, updated_at = ? WHERE seq = ?",
                (ItemStage.FAILED, step, reason, time.time(), seq),
            )
            db.execute(
                "UPDATE outputs SET stage = ?, error = coalesce(error, ?) WHERE item_seq = ? AND stage NOT IN (?, ?)",
                (OutputStage.FAILED, reason, seq, *FINAL_OUTPUT_STAGES),
            )

        await self._write(put)

    # -- polling ----------------------------------------------------------------------------

    async def lookup(
        self, ids: Sequence[str], errored: Sequence[str] = ()
    ) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
        def get(db: sqlite3.Connection) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
            outs = {
                out.recording_id or "": out
                for out in map(
                    output_from_row,
                    db.execute(
                        f"SELECT {_OUTPUT_COLS} FROM outputs WHERE recording_id IN ({_marks(len(ids))})"
                        " AND stage IN (?, ?)",
                        (*ids, *WATCHED_OUTPUT_STAGES),
                    ),
                )
            }
            if not errored:
                return outs, {}
            items = {
                item.original_id or "": item
                for item in map(
                    item_from_row,
                    db.execute(
                        f"SELECT {_ITEM_COLS} FROM items WHERE original_id IN ({_marks(len(errored))})"
                        " AND stage IN (?, ?, ?)",
                        (*errored, ItemStage.CREATED, ItemStage.ORDERING, ItemStage.CONVERTING),
                    ),
                )
            }
            return outs, items

        return await self._read(get) if ids else ({}, {})

    async def watched(self, before_round: int) -> list[str]:
        def get(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT o.recording_id FROM outputs o JOIN items i ON i.seq = o.item_seq"
                " WHERE o.stage IN (?, ?) AND i.stage = ? AND o.since_round <> ?",
                (*WATCHED_OUTPUT_STAGES, ItemStage.CONVERTING, before_round),
            )
            return [r[0] for r in rows]

        return await self._read(get)

    async def has_watched(self) -> bool:
        def get(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "SELECT 1 FROM outputs o JOIN items i ON i.seq = o.item_seq"
                " WHERE o.stage IN (?, ?) AND i.stage = ? LIMIT 1",
                (*WATCHED_OUTPUT_STAGES, ItemStage.CONVERTING),
            ).fetchone()
            return row is not None

        return await self._read(get)

    async def any_created(self) -> bool:
        return await self._scan(
            lambda db: db.execute("SELECT 1 FROM items WHERE intent_at IS NOT NULL LIMIT 1").fetchone() is not None
        )

    async def set_original_state(self, seq: int, state: str) -> None:
        await self._write(lambda db: db.execute("UPDATE items SET original_state = ? WHERE seq = ?", (state, seq)))

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
    ) -> None:
        def put(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE outputs SET stage = ?, url = coalesce(?, url), path = coalesce(?, path),"
                " size = coalesce(?, size), error = ?, retries = retries + ?,"
                " recording_id = coalesce(?, recording_id) WHERE item_seq = ? AND target = ?",
                (stage, url, path, size, error, int(add_retry), recording_id, seq, target),
            )

        await self._write(put, durable=stage is OutputStage.RETRYING)  # a retry's intent

    async def settle_item(self, seq: int) -> ItemStage | None:
        return await self._write(lambda db: _settle(db, seq))

    async def set_downloaded(self, seq: int, target: int, *, path: str, size: int, url: str | None) -> ItemStage | None:
        def put(db: sqlite3.Connection) -> ItemStage | None:
            db.execute(
                "UPDATE outputs SET stage = ?, path = ?, size = ?, url = coalesce(?, url), error = NULL"
                " WHERE item_seq = ? AND target = ?",
                (OutputStage.DOWNLOADED, path, size, url, seq, target),
            )
            return _settle(db, seq)

        return await self._write(put)

    async def unsettled_items(self) -> list[int]:
        def get(db: sqlite3.Connection) -> list[int]:
            rows = db.execute(
                "SELECT seq FROM items i WHERE stage = ? AND NOT EXISTS"
                " (SELECT 1 FROM outputs o WHERE o.item_seq = i.seq AND o.stage NOT IN (?, ?))",
                (ItemStage.CONVERTING, *FINAL_OUTPUT_STAGES),
            )
            return [r[0] for r in rows]

        return await self._scan(get)

    async def converting_items(self) -> list[int]:
        return await self._scan(
            lambda db: [r[0] for r in db.execute("SELECT seq FROM items WHERE stage = ?", (ItemStage.CONVERTING,))]
        )

    async def reopen_output(self, seq: int, target: int) -> ItemStage:
        def put(db: sqlite3.Connection) -> ItemStage:
            stage = ItemStage(db.execute("SELECT stage FROM items WHERE seq = ?", (seq,)).fetchone()[0])
            db.execute(
                "UPDATE outputs SET stage = ?, size = NULL WHERE item_seq = ? AND target = ?",
                (OutputStage.CONVERTED, seq, target),
            )
            db.execute(
                "UPDATE items SET stage = ?, error = NULL, error_stage = NULL WHERE seq = ?",
                (ItemStage.CONVERTING, seq),
            )
            return stage

        return await self._write(put)

    async def reopen_failed(self) -> int:
        """Make failed items pending again (on explicit request): each resumes from what it has.

        Inputs that failed validation are forgotten, so discovery checks them again; outputs
        with a link are downloaded again, others watched (and retried) again with a fresh
        retry budget; items without outputs are uploaded or ordered again.  Returns how many.
        """

        def put(db: sqlite3.Connection) -> int:
            failed = ItemStage.FAILED
            count = db.execute("SELECT count(*) FROM items WHERE stage = ?", (failed,)).fetchone()[0]
            db.execute("DELETE FROM items WHERE stage = ? AND error_stage = ?", (failed, Step.VALIDATE))
            db.execute(
                "UPDATE outputs SET stage = CASE WHEN url IS NOT NULL THEN ? ELSE ? END, retries = 0, error = NULL"
                " WHERE stage = ? AND item_seq IN (SELECT seq FROM items WHERE stage = ?)",
                (OutputStage.CONVERTED, OutputStage.PROCESSING, OutputStage.FAILED, failed),
            )
            db.execute(
                "UPDATE items SET stage = CASE WHEN EXISTS (SELECT 1 FROM outputs o WHERE o.item_seq = items.seq)"
                " THEN ? WHEN original_id IS NOT NULL THEN ? ELSE ? END,"
                " attempts = 0, error = NULL, error_stage = NULL, updated_at = ? WHERE stage = ?",
                (ItemStage.CONVERTING, ItemStage.CREATED, ItemStage.PENDING, time.time(), failed),
            )
            return int(count)

        return await self._write(put)

"""The SQLite journal: the job store (``_store.JobStore``) behind every job, in the output directory.

Two connections in WAL mode with ``synchronous=NORMAL`` (a commit survives a killed
process): the event loop's, which writes (group commits, see ``Journal``) and makes point
reads, and a worker thread's for checkpoints and reads over the whole journal.
Stages are stored as the text of ``_stages.ItemStage``/``OutputStage``; rows are read
by the names of their fields (``_store.ITEM_COLUMNS``).  This module holds all of the orchestrator's SQL; ``_report`` reads
through ``connect_readonly`` and the ``read_*`` functions.

``SCHEMA_VERSION`` is stored in the journal; opening a journal of another version
raises ``JournalVersionError`` rather than misreading it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import operator
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

# No index on ``items.stage``: every item changes stage five times, and keeping such an index
# cost about a tenth of the journal's CPU per file; what reads items by stage either walks
# ``seq`` (the submit feed, in chunks) or reads them all once a run (counts, failures).
# Nor on ``outputs.stage`` and ``outputs.recording_id``: one partial index holds only the
# outputs the poller waits for (a lookup's probes of recordings no longer watched, most of
# a listed page, miss in it without reading the table), and an output leaves it once.
# Journals made before keep their indexes; they do no harm.
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


# -- the loop connection's statements ------------------------------------------------------
#
# Module constants (a write's SQL and its statements' functions), so the hot paths build no
# string, closure or lambda per call; stages are bound as plain ``str``: sqlite3 binds a
# ``str`` subclass (an enum member) only after a failed adapter lookup that raises and
# swallows an ``AttributeError``, which costs more than the statement itself.

_PENDING, _CREATED, _CONVERTING, _DONE, _FAILED = (
    s.value for s in (ItemStage.PENDING, ItemStage.CREATED, ItemStage.CONVERTING, ItemStage.DONE, ItemStage.FAILED)
)
_DOWNLOADED, _OUTPUT_FAILED = OutputStage.DOWNLOADED.value, OutputStage.FAILED.value
_WATCHED = ", ".join(f"'{stage.value}'" for stage in WATCHED_OUTPUT_STAGES)
#: The poller's index (see above ``_SCHEMA``): its condition is the very text its queries use.
_SCHEMA += f"CREATE INDEX IF NOT EXISTS outputs_watched ON outputs (recording_id) WHERE stage IN ({_WATCHED});\n"
_FINAL_OUTPUT = ", ".join(f"'{stage.value}'" for stage in FINAL_OUTPUT_STAGES)
_ACTIVE = f"'{_CREATED}', '{ItemStage.ORDERING.value}', '{_CONVERTING}'"

_ITEM_SQL = f"SELECT {_ITEM_COLS} FROM items WHERE seq = ?"
_OUTPUTS_OF_SQL = f"SELECT {_OUTPUT_COLS} FROM outputs WHERE item_seq = ? ORDER BY target"
_WATCHED_SQL = (
    "SELECT o.recording_id FROM outputs o JOIN items i ON i.seq = o.item_seq"
    f" WHERE o.stage IN ({_WATCHED}) AND i.stage = '{_CONVERTING}' AND o.since_round <> ?"
)
_HAS_WATCHED_SQL = (
    "SELECT 1 FROM outputs o JOIN items i ON i.seq = o.item_seq"
    f" WHERE o.stage IN ({_WATCHED}) AND i.stage = '{_CONVERTING}' LIMIT 1"
)
_INSERT_ITEM_SQL = f"INSERT INTO items ({NEW_ITEM_COLUMNS}) VALUES ({_marks(15)})"
_STAGE_SQL = "UPDATE items SET stage = ?1, updated_at = ?2 WHERE seq = ?3"
_INTENT_SQL = "UPDATE items SET stage = ?1, updated_at = ?2, intent_at = ?2 WHERE seq = ?3"
_CREATED_SQL = f"UPDATE items SET stage = '{_CREATED}', original_id = ?, attempts = 0, updated_at = ? WHERE seq = ?"
#: ``set_created`` and the order's intent in one statement (``set_ordering``).
_ORDERING_SQL = (
    f"UPDATE items SET stage = '{ItemStage.ORDERING.value}', original_id = ?1, attempts = 0,"
    " updated_at = ?2, intent_at = ?2 WHERE seq = ?3"
)
_CONVERTING_SQL = f"UPDATE items SET stage = '{_CONVERTING}', updated_at = ? WHERE seq = ?"
_NEW_OUTPUT_SQL = (
    "INSERT OR REPLACE INTO outputs (item_seq, target, recording_id, stage, since_round)"
    f" VALUES (?, ?, ?, '{OutputStage.PROCESSING.value}', ?)"
)


#: ``None`` is bound only after the same failed adapter lookups as an enum member, so a
#: statement binds only the values given (``_given``) and a column not given keeps its
#: value (``UPDATE``) or takes its default, NULL (``INSERT``).
_NONES = (None,) * 32


def _given(values: Sequence[Any]) -> tuple[bool, ...]:
    """Which of ``values`` are not ``None`` (in C: this runs for every row written)."""
    return tuple(map(operator.is_not, values, _NONES))


_OUTPUT_VALUES = ("url", "path", "size", "error", "recording_id")


@functools.lru_cache(maxsize=128)
def _set_output_sql(given: tuple[bool, ...], add_retry: bool) -> str:
    """``set_output``'s statement for the ``_OUTPUT_VALUES`` given (``error`` not given: cleared)."""
    sets = ["stage = ?", *(f"{name} = ?" for name, present in zip(_OUTPUT_VALUES, given, strict=True) if present)]
    if not given[3]:
        sets.append("error = NULL")
    if add_retry:
        sets.append("retries = retries + 1")
    return f"UPDATE outputs SET {', '.join(sets)} WHERE item_seq = ? AND target = ?"


@functools.lru_cache(maxsize=64)
def _insert_item_sql(given: tuple[bool, ...]) -> str:
    """An insert of the given columns of ``NEW_ITEM_COLUMNS``."""
    names = list(itertools.compress(NEW_ITEM_COLUMNS.split(", "), given))
    return f"INSERT INTO items ({', '.join(names)}) VALUES ({_marks(len(names))})"


_DOWNLOADED_SQL = (
    f"UPDATE outputs SET stage = '{_DOWNLOADED}', path = ?, size = ?, url = coalesce(?, url), error = NULL"
    " WHERE item_seq = ? AND target = ?"
)
#: An item whose outputs are all downloaded is done (``_settle`` in one statement, for the usual case).
_ALL_DOWNLOADED_SQL = (
    f"UPDATE items SET stage = '{_DONE}', error_stage = NULL, error = NULL, updated_at = ?1"
    f" WHERE seq = ?2 AND stage = '{_CONVERTING}'"
    f" AND NOT EXISTS (SELECT 1 FROM outputs WHERE item_seq = ?2 AND stage <> '{_DOWNLOADED}')"
)


def _settle(cur: sqlite3.Cursor, seq: int) -> ItemStage | None:
    """``settle_item`` inside a transaction: two statements."""
    rows = cur.execute("SELECT stage, error FROM outputs WHERE item_seq = ?", (seq,)).fetchall()
    if not rows or any(stage not in FINAL_OUTPUT_STAGES for stage, _ in rows):
        return None
    errors = [error or "failed" for stage, error in rows if stage == _OUTPUT_FAILED]
    outcome = ItemStage.FAILED if errors else ItemStage.DONE
    cur.execute(
        "UPDATE items SET stage = ?, error_stage = ?, error = ?, updated_at = ? WHERE seq = ? AND stage = ?",
        (
            outcome.value,
            Step.CONVERT.value if errors else None,
            "; ".join(dict.fromkeys(errors)) if errors else None,
            time.time(),
            seq,
            _CONVERTING,
        ),
    )
    return outcome if cur.rowcount else None  # an item no longer converting is left as it is


def _set_downloaded(
    cur: sqlite3.Cursor, seq: int, target: int, path: str, size: int, url: str | None, now: float
) -> ItemStage | None:
    """``set_downloaded``: two statements when the item is done by it, else ``_settle`` (a failed output, or others left)."""
    cur.execute(_DOWNLOADED_SQL, (path, size, url, seq, target))
    if cur.execute(_ALL_DOWNLOADED_SQL, (now, seq)).rowcount:
        return ItemStage.DONE
    return _settle(cur, seq)


def _set_converting(
    cur: sqlite3.Cursor, seq: int, outputs: Iterable[tuple[int, str]], round_no: int, now: float
) -> None:
    for target, recording_id in outputs:
        cur.execute(_NEW_OUTPUT_SQL, (seq, target, recording_id, round_no))
    cur.execute(_CONVERTING_SQL, (now, seq))


def _fail_item(cur: sqlite3.Cursor, seq: int, step: str, reason: str, now: float) -> None:
    cur.execute(
        f"UPDATE items SET stage = '{_FAILED}', error_stage = ?, error = ?, updated_at = ? WHERE seq = ?",
        (step, reason, now, seq),
    )
    cur.execute(
        f"UPDATE outputs SET stage = '{_OUTPUT_FAILED}', error = coalesce(error, ?)"
        f" WHERE item_seq = ? AND stage NOT IN ({_FINAL_OUTPUT})",
        (reason, seq),
    )


def _add_items(cur: sqlite3.Cursor, items: Sequence[NewItem], now: float) -> int:
    """New items, in one statement for the batch; one at a time if a key is known or a name taken."""
    cur.execute("SAVEPOINT add_items")
    try:
        rows = [new_item_values(it, it.rel, now) for it in items]
        for given, run in itertools.groupby(rows, key=_given):  # runs of rows with NULLs in the same columns
            cur.executemany(_insert_item_sql(given), [tuple(itertools.compress(row, given)) for row in run])
    except sqlite3.IntegrityError:
        cur.execute("ROLLBACK TO add_items")
        cur.execute("RELEASE add_items")
        return _add_items_one_by_one(cur, items, now)
    cur.execute("RELEASE add_items")
    return len(items)


def _add_items_one_by_one(cur: sqlite3.Cursor, items: Sequence[NewItem], now: float) -> int:
    """Known keys left alone, a name already taken numbered (``numbered_rel``)."""
    added = 0
    for it in items:
        if cur.execute("SELECT 1 FROM items WHERE key = ?", (it.key,)).fetchone():
            continue
        rel, n = it.rel, 1
        while cur.execute("SELECT 1 FROM items WHERE rel = ?", (rel,)).fetchone():
            n += 1
            rel = numbered_rel(it.rel, n)
        cur.execute(_INSERT_ITEM_SQL, new_item_values(it, rel, now))
        added += 1
    return added


def _set_folder(cur: sqlite3.Cursor, rel_dir: str, folder_id: str) -> None:
    cur.execute("INSERT OR REPLACE INTO folders (rel_dir, folder_id) VALUES (?, ?)", (rel_dir, folder_id))
    cur.execute("UPDATE items SET folder_id = ? WHERE rel_dir = ? AND folder_id IS NULL", (folder_id, rel_dir))


def _executemany(cur: sqlite3.Cursor, sql: str, rows: list[tuple[Any, ...]]) -> None:
    cur.executemany(sql, rows)


def _reopen_output(cur: sqlite3.Cursor, seq: int, target: int) -> ItemStage:
    stage = ItemStage(cur.execute("SELECT stage FROM items WHERE seq = ?", (seq,)).fetchone()[0])
    cur.execute(
        f"UPDATE outputs SET stage = '{OutputStage.CONVERTED.value}', size = NULL WHERE item_seq = ? AND target = ?",
        (seq, target),
    )
    cur.execute(f"UPDATE items SET stage = '{_CONVERTING}', error = NULL, error_stage = NULL WHERE seq = ?", (seq,))
    return stage


def _reopen_failed(cur: sqlite3.Cursor, now: float) -> int:
    count = cur.execute("SELECT count(*) FROM items WHERE stage = ?", (_FAILED,)).fetchone()[0]
    cur.execute("DELETE FROM items WHERE stage = ? AND error_stage = ?", (_FAILED, Step.VALIDATE.value))
    cur.execute(
        "UPDATE outputs SET stage = CASE WHEN url IS NOT NULL THEN ? ELSE ? END, retries = 0, error = NULL"
        " WHERE stage = ? AND item_seq IN (SELECT seq FROM items WHERE stage = ?)",
        (OutputStage.CONVERTED.value, OutputStage.PROCESSING.value, _OUTPUT_FAILED, _FAILED),
    )
    cur.execute(
        "UPDATE items SET stage = CASE WHEN EXISTS (SELECT 1 FROM outputs o WHERE o.item_seq = items.seq)"
        " THEN ? WHEN original_id IS NOT NULL THEN ? ELSE ? END,"
        " attempts = 0, error = NULL, error_stage = NULL, updated_at = ? WHERE stage = ?",
        (_CONVERTING, _CREATED, _PENDING, now, _FAILED),
    )
    return int(count)


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
#: Seconds a transaction without an intent may stay open: its writes are committed with
#: the next intent's, or after this long.  In B6 a third of the commits had no intent
#: waiting; a killed run loses at most these writes, which a re-run redoes (the server is
#: asked again, a file downloaded again).
PLAIN_COMMIT_DELAY = 0.05


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Journal(JobStore):
    """The SQLite ``JobStore``.

    Writes are *grouped*: a write runs at once, on the event loop, inside the open
    transaction (opened by the first write after a commit).  An *intent* (``set_stage``
    with ``intent=True``, ``set_ordering``, ``set_output`` to ``retrying``: written before
    a non-idempotent request) has the transaction committed at the start of the next turn
    of the loop, and is answered only after that commit: it is durable before its request
    is sent; the commit is shared, never skipped.  Any other write is answered at once: it
    is visible to every read that follows, and durable with the next commit (the next
    intent's, or ``PLAIN_COMMIT_DELAY`` seconds after the transaction opened);
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

    Every write and point read runs on the loop connection's one cursor, as module-level
    SQL and parameters (``_put``; ``_put_with`` for a write of several statements): the
    journal runs five writes for every file, so none builds a closure or an SQL string.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voiceapi-journal")
        self._conn: sqlite3.Connection | None = None  # the event loop's: writes and point reads
        self._worker: sqlite3.Connection | None = None  # the worker thread's: checkpoints and scans
        #: The loop connection's one cursor (a cursor per statement costs more than most statements).
        self._cursor: sqlite3.Cursor
        #: The writes of the open transaction (run again if one ends it), and the intents waiting for its commit:
        #: ``(sql, params)`` or ``(statements, args)`` (see ``_put`` and ``_put_with``).
        self._open: list[tuple[Any, Sequence[Any]]] | None = None
        self._waiting: list[asyncio.Future[None]] = []
        #: The open transaction's commit at the latest (``PLAIN_COMMIT_DELAY``), cancelled by an earlier one.
        self._due: asyncio.TimerHandle | None = None
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
            self._conn, self._worker, self._cursor = conn, worker, conn.cursor()

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
            self._commit()  # writes still open (and intents whose callers were cancelled): still committed
            if self._checkpointing is not None:
                await asyncio.gather(self._checkpointing, return_exceptions=True)
            await self._run(close)
        finally:
            self._executor.shutdown(wait=True)
            if self._scratch_dir is not None:
                shutil.rmtree(self._scratch_dir, ignore_errors=True)

    def _transaction(self) -> sqlite3.Cursor:
        """The loop connection's cursor, in the open transaction (opened here by the first write after a commit)."""
        if self._open is None:
            self._raise_if_broken()
            assert self._loop is not None, "journal is not open"
            self._cursor.execute("BEGIN IMMEDIATE")
            self._open = []
            self._due = self._loop.call_later(PLAIN_COMMIT_DELAY, self._commit)
        return self._cursor

    def _put(self, sql: str, params: Sequence[Any]) -> int:
        """A write of one statement, run now in the open transaction; its row count.

        A statement that fails is undone by SQLite alone, and the error goes to its caller
        alone; if the error ended the transaction, the transaction's earlier writes run again.
        """
        cur = self._transaction()
        try:
            cur.execute(sql, params)
        except Exception:
            if not self.db.in_transaction:
                self._redo()
            raise
        self._open.append((sql, params))  # type: ignore[union-attr]  # opened by _transaction
        self.writes += 1
        return cur.rowcount

    def _put_with(self, statements: Callable[..., T], *args: Any) -> T:
        """A write of several statements, ``statements(cursor, *args)``, in the open transaction.

        If it raises, what it did is undone (the transaction is rolled back and the
        earlier writes run again), and the error goes to its caller alone.
        """
        cur = self._transaction()
        try:
            result = statements(cur, *args)
        except Exception:
            self._redo()
            raise
        self._open.append((statements, args))  # type: ignore[union-attr]  # opened by _transaction
        self.writes += 1
        return result

    def _redo(self) -> None:
        """Roll the open transaction back and run its writes again: a failed write is undone alone."""
        cur = self._cursor
        if self.db.in_transaction:
            cur.execute("ROLLBACK")
        cur.execute("BEGIN IMMEDIATE")
        for first, args in self._open or ():
            if isinstance(first, str):
                cur.execute(first, args)
            else:
                first(cur, *args)

    def _committed(self) -> asyncio.Future[None]:
        """A future answered by the commit of the open transaction: an intent awaits it before its request.

        The transaction's first intent has it committed at the next turn of the loop.
        """
        assert self._loop is not None
        committed: asyncio.Future[None] = self._loop.create_future()
        if not self._waiting:
            self._loop.call_soon(self._commit)
        self._waiting.append(committed)
        return committed

    def _commit(self) -> None:
        """Commit the open transaction, then answer the intents waiting for it."""
        if self._open is None:
            return
        if self._due is not None:
            self._due.cancel()
            self._due = None
        waiting, self._open, self._waiting = self._waiting, None, []
        try:
            self._cursor.execute("COMMIT")
        except Exception as exc:
            self._broken = exc
            with contextlib.suppress(sqlite3.Error):
                self._cursor.execute("ROLLBACK")
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
        self._raise_if_broken()

    def _raise_if_broken(self) -> None:
        """A commit failed earlier: nothing more is written or read as if it had not."""
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

    async def _scan(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """A read over the whole journal, in the worker thread (after committing what is open)."""
        self._flush()

        def scan() -> T:
            assert self._worker is not None, "journal is not open"
            return query(self._worker)

        return await self._run(scan)

    # Point reads run on the loop connection's cursor, directly in each method (see the class docstring).

    # -- meta and folders -----------------------------------------------------------------

    async def get_meta(self, key: str) -> Any:
        return read_meta(self.db, key)

    async def set_meta(self, values: dict[str, Any]) -> None:
        self._put_with(
            _executemany, "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, json.dumps(v)) for k, v in values.items()]
        )

    async def folder(self, rel_dir: str) -> str | None:
        row = self._cursor.execute("SELECT folder_id FROM folders WHERE rel_dir = ?", (rel_dir,)).fetchone()
        return str(row[0]) if row else None

    async def set_folder(self, rel_dir: str, folder_id: str) -> None:
        self._put_with(_set_folder, rel_dir, folder_id)

    async def folder_rel_dirs(self) -> list[str]:
        def get(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT DISTINCT rel_dir FROM items WHERE stage != ? ORDER BY rel_dir", (_FAILED,))
            return [r[0] for r in rows]

        return await self._scan(get)

    # -- discovery ------------------------------------------------------------------------

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = self._cursor.execute(f"SELECT key FROM items WHERE key IN ({_marks(len(keys))})", keys).fetchall()
        return {r[0] for r in rows}

    async def add_items(self, items: Sequence[NewItem]) -> int:
        return self._put_with(_add_items, items, time.time())

    # -- reading in chunks ----------------------------------------------------------------

    async def items_in_stages(self, stages: Sequence[ItemStage], after: int, limit: int) -> list[ItemRow]:
        rows = self._cursor.execute(
            f"SELECT {_ITEM_COLS} FROM items WHERE stage IN ({_marks(len(stages))}) AND seq > ? ORDER BY seq LIMIT ?",
            (*map(str, stages), after, limit),
        ).fetchall()
        return [item_from_row(r) for r in rows]

    async def item(self, seq: int) -> ItemRow:
        return item_from_row(self._cursor.execute(_ITEM_SQL, (seq,)).fetchone())

    async def outputs_of(self, seq: int) -> list[OutputRow]:
        return [output_from_row(r) for r in self._cursor.execute(_OUTPUTS_OF_SQL, (seq,)).fetchall()]

    async def outputs_in_stage(self, stage: OutputStage, after: tuple[int, int], limit: int) -> list[OutputRow]:
        rows = self._cursor.execute(
            f"SELECT {_OUTPUT_COLS} FROM outputs WHERE stage = ? AND (item_seq, target) > (?, ?)"
            " ORDER BY item_seq, target LIMIT ?",
            (str(stage), *after, limit),
        ).fetchall()
        return [output_from_row(r) for r in rows]

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
                    "failed": _FAILED,
                    "validate": Step.VALIDATE.value,
                    **{f"s{i}": stage.value for i, stage in enumerate(SUBMIT_STAGES)},
                },
            ).fetchone()
            names = ("items", "invalid", "duration", "unknown", "charge", "remaining", "chars", "targets")
            return dict(zip(names, row, strict=True))

        return await self._scan(get)

    async def failures(self, limit: int) -> tuple[list[tuple[str, str, str, str]], int]:
        def get(db: sqlite3.Connection) -> tuple[list[tuple[str, str, str, str]], int]:
            return read_failures(db, limit), db.execute(_FAILED_COUNT_SQL, (_FAILED,)).fetchone()[0]

        return await self._scan(get)

    async def output_files(self, limit: int) -> tuple[list[str], int]:
        """The first ``limit`` downloaded paths and how many there are in all (memory stays flat)."""

        def get(db: sqlite3.Connection) -> tuple[list[str], int]:
            done = OutputStage.DOWNLOADED.value
            # DISTINCT: the parts of a long TTS text, once joined, share one file
            rows = db.execute(
                "SELECT path FROM outputs WHERE stage = ? GROUP BY path ORDER BY min(item_seq), min(target) LIMIT ?",
                (done, limit),
            ).fetchall()
            total = db.execute("SELECT count(DISTINCT path) FROM outputs WHERE stage = ?", (done,)).fetchone()[0]
            return [r[0] for r in rows], total

        return await self._scan(get)

    # -- stage transitions ------------------------------------------------------------------

    async def set_stage(self, seq: int, stage: ItemStage, *, intent: bool = False) -> None:
        now = time.time()
        if intent:
            self._put(_INTENT_SQL, (str(stage), now, seq))
            await self._committed()
        else:
            self._put(_STAGE_SQL, (str(stage), now, seq))

    async def set_created(self, seq: int, original_id: str) -> None:
        self._put(_CREATED_SQL, (original_id, time.time(), seq))

    async def set_ordering(self, seq: int, original_id: str) -> None:
        self._put(_ORDERING_SQL, (original_id, time.time(), seq))
        await self._committed()

    async def set_converting(self, seq: int, outputs: Iterable[tuple[int, str]], round_no: int) -> None:
        self._put_with(_set_converting, seq, outputs, round_no, time.time())

    async def fail_item(self, seq: int, step: Step, reason: str) -> None:
        self._put_with(_fail_item, seq, str(step), reason, time.time())

    # -- polling ----------------------------------------------------------------------------

    async def lookup(
        self, ids: Sequence[str], errored: Sequence[str] = ()
    ) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
        if not ids:
            return {}, {}
        cur = self._cursor
        rows = cur.execute(
            f"SELECT {_OUTPUT_COLS} FROM outputs WHERE recording_id IN ({_marks(len(ids))}) AND stage IN ({_WATCHED})",
            ids,
        ).fetchall()
        outs = {out.recording_id or "": out for out in map(output_from_row, rows)}
        if not errored:
            return outs, {}
        rows = cur.execute(
            f"SELECT {_ITEM_COLS} FROM items WHERE original_id IN ({_marks(len(errored))}) AND stage IN ({_ACTIVE})",
            errored,
        ).fetchall()
        return outs, {item.original_id or "": item for item in map(item_from_row, rows)}

    async def watched(self, before_round: int) -> list[str]:
        return [r[0] for r in self._cursor.execute(_WATCHED_SQL, (before_round,)).fetchall()]

    async def has_watched(self) -> bool:
        return self._cursor.execute(_HAS_WATCHED_SQL).fetchone() is not None

    async def any_created(self) -> bool:
        return await self._scan(
            lambda db: db.execute("SELECT 1 FROM items WHERE intent_at IS NOT NULL LIMIT 1").fetchone() is not None
        )

    async def set_original_state(self, seq: int, state: str) -> None:
        self._put("UPDATE items SET original_state = ? WHERE seq = ?", (state, seq))

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
        optional = (url, path, size, error, recording_id)
        given = _given(optional)
        self._put(_set_output_sql(given, add_retry), (str(stage), *itertools.compress(optional, given), seq, target))
        if stage is OutputStage.RETRYING:  # a retry's intent
            await self._committed()

    async def settle_item(self, seq: int) -> ItemStage | None:
        return self._put_with(_settle, seq)

    async def set_downloaded(self, seq: int, target: int, *, path: str, size: int, url: str | None) -> ItemStage | None:
        return self._put_with(_set_downloaded, seq, target, path, size, url, time.time())

    async def unsettled_items(self) -> list[int]:
        def get(db: sqlite3.Connection) -> list[int]:
            rows = db.execute(
                "SELECT seq FROM items i WHERE stage = ? AND NOT EXISTS"
                f" (SELECT 1 FROM outputs o WHERE o.item_seq = i.seq AND o.stage NOT IN ({_FINAL_OUTPUT}))",
                (_CONVERTING,),
            )
            return [r[0] for r in rows]

        return await self._scan(get)

    async def converting_items(self) -> list[int]:
        return await self._scan(
            lambda db: [r[0] for r in db.execute("SELECT seq FROM items WHERE stage = ?", (_CONVERTING,))]
        )

    async def reopen_output(self, seq: int, target: int) -> ItemStage:
        return self._put_with(_reopen_output, seq, target)

    async def reopen_failed(self) -> int:
        """Make failed items pending again (on explicit request): each resumes from what it has.

        Inputs that failed validation are forgotten, so discovery checks them again; outputs
        with a link are downloaded again, others watched (and retried) again with a fresh
        retry budget; items without outputs are uploaded or ordered again.  Returns how many.
        """
        return self._put_with(_reopen_failed, time.time())

"""A job store on PostgreSQL, shared by several workers running the same job (``journal="postgresql://..."``).

The same tables as the SQLite journal, with a ``job`` column (one database holds many
jobs, each named by its ``job_id``), and two more on each item: ``lease_owner`` and
``lease_until``.  Workers split a job's items through leases: ``claim`` takes a batch of
unfinished items nobody holds (or whose holder's lease ran out) with
``SELECT ... FOR UPDATE SKIP LOCKED``, so two workers never take the same item; a
heartbeat (``renew``) extends the worker's leases.  A worker that dies stops renewing:
after ``lease_seconds`` its items go to whoever claims next, whatever their stage, and
the engine treats them as a resumed journal's (an intent left behind is reconciled with
the server before anything is sent again).

Every write to an item is *fenced* by its lease: it applies only while this worker
holds the item, and raises ``LeaseLostError`` otherwise, so a worker that lost an item
(a long pause, a network partition) cannot write the intent of a request it would
then send a second time.  Item-scoped reads see only this worker's items; the counts
of finished items, failures and outputs are job-wide (the summary and report of any
worker cover the whole job).  Each output records where it was downloaded
(``location``: the downloading worker's output directory).

The driver is asyncpg (the ``postgres`` extra), imported only when this store is used.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._errors import JobConfigError, JobError
from ._stages import (
    FINAL_ITEM_STAGES,
    FINAL_OUTPUT_STAGES,
    SUBMIT_STAGES,
    WATCHED_OUTPUT_STAGES,
    ItemStage,
    OutputStage,
    Step,
)
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

__all__ = ["LeaseLostError", "PostgresJobStore", "is_store_url", "redact_url"]

SCHEMES = ("postgresql", "postgres")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS voiceapi_job_meta (
    job TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (job, key)
);
CREATE TABLE IF NOT EXISTS voiceapi_job_items (
    job TEXT NOT NULL,
    seq BIGSERIAL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    rel TEXT NOT NULL,
    rel_dir TEXT NOT NULL DEFAULT '',
    label TEXT,
    size BIGINT,
    duration DOUBLE PRECISION,
    chars INTEGER NOT NULL DEFAULT 0,
    n_targets INTEGER NOT NULL DEFAULT 0,
    extra TEXT,
    stage TEXT NOT NULL,
    folder_id TEXT,
    original_id TEXT,
    original_state TEXT,
    intent_at DOUBLE PRECISION,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_stage TEXT,
    error TEXT,
    updated_at DOUBLE PRECISION,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    PRIMARY KEY (job, seq),
    UNIQUE (job, key),
    UNIQUE (job, rel)
);
CREATE INDEX IF NOT EXISTS voiceapi_job_items_stage ON voiceapi_job_items (job, stage, seq);
CREATE INDEX IF NOT EXISTS voiceapi_job_items_owner ON voiceapi_job_items (job, lease_owner);
CREATE INDEX IF NOT EXISTS voiceapi_job_items_original ON voiceapi_job_items (job, original_id);
CREATE TABLE IF NOT EXISTS voiceapi_job_outputs (
    job TEXT NOT NULL,
    item_seq BIGINT NOT NULL,
    target INTEGER NOT NULL,
    recording_id TEXT,
    stage TEXT NOT NULL,
    retries INTEGER NOT NULL DEFAULT 0,
    since_round INTEGER NOT NULL DEFAULT 0,
    url TEXT,
    path TEXT,
    size BIGINT,
    error TEXT,
    location TEXT,
    PRIMARY KEY (job, item_seq, target)
);
CREATE INDEX IF NOT EXISTS voiceapi_job_outputs_recording ON voiceapi_job_outputs (job, recording_id);
CREATE TABLE IF NOT EXISTS voiceapi_job_folders (
    job TEXT NOT NULL, rel_dir TEXT NOT NULL, folder_id TEXT NOT NULL, PRIMARY KEY (job, rel_dir)
);
"""

_ITEM_COLS = ITEM_COLUMNS
_OUTPUT_COLS = OUTPUT_COLUMNS
#: This worker holds the item now (the fence of every write and the scope of item reads).
_MINE = "lease_owner = $2 AND lease_until > now()"
_FINAL = [str(s) for s in FINAL_ITEM_STAGES]


class LeaseLostError(JobError):
    """Another worker took this worker's item over (its lease ran out): this worker must not act on it."""


def is_store_url(journal: object) -> bool:
    """Whether ``journal`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(journal, str) and urlsplit(journal).scheme in SCHEMES


def redact_url(url: str) -> str:
    """The URL without its password: safe for messages and reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _dollars(n: int) -> str:
    return ",".join(f"${i}" for i in range(1, n + 1))


def _import_asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError:
        raise JobConfigError(
            "a PostgreSQL job store needs the postgres extra: pip install 'voiceapi-async[postgres]'"
        ) from None
    return asyncpg


class PostgresJobStore(JobStore):
    """The ``JobStore`` of one worker of a job shared through PostgreSQL.

    ``worker`` names this worker (unique per process by default); ``output_dir`` is
    where it downloads (recorded with each output); ``lease_seconds`` is how long an
    item stays this worker's without a heartbeat.
    """

    def __init__(
        self, url: str, job: str, output_dir: Path, *, worker: str | None = None, lease_seconds: float = 30.0
    ) -> None:
        if not is_store_url(url):
            raise JobConfigError(f"not a PostgreSQL URL: {redact_url(url)!r} (postgresql://user@host:5432/db)")
        if not lease_seconds > 0:
            raise JobConfigError(f"lease_seconds must be positive, not {lease_seconds!r}")
        self._asyncpg = _import_asyncpg()
        self.url = url
        self.job = job
        self.worker = worker or f"{os.uname().nodename}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.location = str(Path(output_dir).resolve())
        self.lease_seconds = float(lease_seconds)
        self._pool: Any = None
        #: The driver's errors (a heartbeat that meets one tries again later).
        self.errors: type[Exception] = self._asyncpg.PostgresError

    def __repr__(self) -> str:
        return f"PostgresJobStore({redact_url(self.url)!r}, job={self.job!r}, worker={self.worker!r})"

    @property
    def path(self) -> str:
        """Where the state is, for messages and the summary (without the password)."""
        return f"{redact_url(self.url)} (job {self.job!r})"

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def _db(self) -> Any:
        assert self._pool is not None, "job store is not open"
        return self._pool

    async def open(self) -> PostgresJobStore:
        self._pool = await self._asyncpg.create_pool(self.url, min_size=1, max_size=4, command_timeout=60)
        async with self._db.acquire() as conn, conn.transaction():
            # One worker creates the tables; the others wait for it (CREATE ... IF NOT EXISTS races otherwise).
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('voiceapi_job_schema'))")
            await conn.execute(_SCHEMA)
        return self

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """One worker of the job at a time in the block (finding or creating the project and folders)."""
        async with self._db.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"voiceapi_job:{self.job}")
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"voiceapi_job:{self.job}")

    async def _fenced(self, conn: Any, sql: str, *args: Any) -> None:
        """An item write that applies only while this worker holds the item ($1 job, $2 worker, $3 seq)."""
        status = await conn.execute(sql, self.job, self.worker, *args)
        if status.endswith(" 0"):
            raise LeaseLostError(f"item {args[0]} of job {self.job!r} is no longer this worker's (its lease ran out)")

    # -- leases -----------------------------------------------------------------------------

    async def claim(self, limit: int) -> int:
        """Take up to ``limit`` unfinished items nobody holds (or whose lease ran out); how many."""
        rows = await self._db.fetch(
            "WITH picked AS (SELECT seq FROM voiceapi_job_items WHERE job = $1 AND stage <> ALL($3::text[])"
            " AND (lease_owner IS NULL OR lease_until <= now()) ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)"
            " UPDATE voiceapi_job_items i SET lease_owner = $2, lease_until = now() + make_interval(secs => $5)"
            " FROM picked WHERE i.job = $1 AND i.seq = picked.seq RETURNING i.seq",
            self.job,
            self.worker,
            _FINAL,
            limit,
            self.lease_seconds,
        )
        return len(rows)

    async def renew(self) -> int:
        """Extend this worker's leases (the heartbeat); how many items it holds."""
        status = await self._db.execute(
            "UPDATE voiceapi_job_items SET lease_until = now() + make_interval(secs => $3)"
            " WHERE job = $1 AND lease_owner = $2 AND lease_until > now() AND stage <> ALL($4::text[])",
            self.job,
            self.worker,
            self.lease_seconds,
            _FINAL,
        )
        return int(status.rsplit(" ", 1)[1])

    async def unfinished_elsewhere(self) -> int:
        """Unfinished items other workers hold (this worker waits for them: their lease may run out)."""
        n = await self._db.fetchval(
            "SELECT count(*) FROM voiceapi_job_items WHERE job = $1 AND stage <> ALL($3::text[])"
            " AND NOT (lease_owner IS NOT DISTINCT FROM $2 AND lease_until > now())",
            self.job,
            self.worker,
            _FINAL,
        )
        return int(n)

    # -- meta and folders -------------------------------------------------------------------

    async def get_meta(self, key: str) -> Any:
        value = await self._db.fetchval(
            "SELECT value FROM voiceapi_job_meta WHERE job = $1 AND key = $2", self.job, key
        )
        return json.loads(value) if value is not None else None

    async def set_meta(self, values: dict[str, Any]) -> None:
        await self._db.executemany(
            "INSERT INTO voiceapi_job_meta (job, key, value) VALUES ($1, $2, $3)"
            " ON CONFLICT (job, key) DO UPDATE SET value = excluded.value",
            [(self.job, k, json.dumps(v)) for k, v in values.items()],
        )

    async def folder(self, rel_dir: str) -> str | None:
        value = await self._db.fetchval(
            "SELECT folder_id FROM voiceapi_job_folders WHERE job = $1 AND rel_dir = $2", self.job, rel_dir
        )
        return str(value) if value is not None else None

    async def set_folder(self, rel_dir: str, folder_id: str) -> None:
        async with self._db.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO voiceapi_job_folders (job, rel_dir, folder_id) VALUES ($1, $2, $3)"
                " ON CONFLICT (job, rel_dir) DO UPDATE SET folder_id = excluded.folder_id",
                self.job,
                rel_dir,
                folder_id,
            )
            await conn.execute(
                "UPDATE voiceapi_job_items SET folder_id = $3 WHERE job = $1 AND rel_dir = $2 AND folder_id IS NULL",
                self.job,
                rel_dir,
                folder_id,
            )

    async def folder_rel_dirs(self) -> list[str]:
        rows = await self._db.fetch(
            "SELECT DISTINCT rel_dir FROM voiceapi_job_items WHERE job = $1 AND stage <> $2 ORDER BY rel_dir",
            self.job,
            ItemStage.FAILED,
        )
        return [r[0] for r in rows]

    # -- discovery --------------------------------------------------------------------------

    async def known_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = await self._db.fetch(
            "SELECT key FROM voiceapi_job_items WHERE job = $1 AND key = ANY($2::text[])", self.job, list(keys)
        )
        return {r[0] for r in rows}

    async def add_items(self, items: Sequence[NewItem]) -> int:
        added = 0
        now = time.time()
        async with self._db.acquire() as conn, conn.transaction():
            # Workers discover the same inputs at once: one at a time per job, so names are made unique once.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"voiceapi_job_items:{self.job}")
            for it in items:
                if await conn.fetchval(
                    "SELECT 1 FROM voiceapi_job_items WHERE job = $1 AND key = $2", self.job, it.key
                ):
                    continue
                rel, n = it.rel, 1
                while await conn.fetchval(
                    "SELECT 1 FROM voiceapi_job_items WHERE job = $1 AND rel = $2", self.job, rel
                ):
                    n += 1
                    rel = numbered_rel(it.rel, n)
                await conn.execute(
                    f"INSERT INTO voiceapi_job_items (job, {NEW_ITEM_COLUMNS}) VALUES ({_dollars(16)})",
                    self.job,
                    *new_item_values(it, rel, now),
                )
                added += 1
        return added

    # -- reading ----------------------------------------------------------------------------

    async def items_in_stages(self, stages: Sequence[ItemStage], after: int, limit: int) -> list[ItemRow]:
        # Failed items are the job's (reported by every worker); unfinished ones this worker's.
        scope = "" if set(stages) <= set(FINAL_ITEM_STAGES) else f" AND {_MINE}"
        rows = await self._db.fetch(
            f"SELECT {_ITEM_COLS} FROM voiceapi_job_items WHERE job = $1 AND ($2::text IS NOT NULL){scope}"
            " AND stage = ANY($3::text[]) AND seq > $4 ORDER BY seq LIMIT $5",
            self.job,
            self.worker,
            [str(s) for s in stages],
            after,
            limit,
        )
        return [item_from_row(r) for r in rows]

    async def item(self, seq: int) -> ItemRow:
        row = await self._db.fetchrow(
            f"SELECT {_ITEM_COLS} FROM voiceapi_job_items WHERE job = $1 AND seq = $2", self.job, seq
        )
        return item_from_row(row)

    async def outputs_of(self, seq: int) -> list[OutputRow]:
        rows = await self._db.fetch(
            f"SELECT {_OUTPUT_COLS} FROM voiceapi_job_outputs WHERE job = $1 AND item_seq = $2 ORDER BY target",
            self.job,
            seq,
        )
        return [output_from_row(r) for r in rows]

    async def outputs_in_stage(self, stage: OutputStage, after: tuple[int, int], limit: int) -> list[OutputRow]:
        # Downloaded files are checked by the worker that wrote them; the rest by the item's holder.
        scope = (
            "o.location = $6"
            if stage is OutputStage.DOWNLOADED
            else "i.lease_owner = $2 AND i.lease_until > now() AND $6::text IS NOT NULL"
        )
        rows = await self._db.fetch(
            f"SELECT o.item_seq, o.target, o.recording_id, o.stage, o.retries, o.url, o.path, o.size, o.error"
            f" FROM voiceapi_job_outputs o JOIN voiceapi_job_items i ON i.job = o.job AND i.seq = o.item_seq"
            f" WHERE o.job = $1 AND ($2::text IS NOT NULL) AND {scope} AND o.stage = $3"
            f" AND (o.item_seq, o.target) > ($4, $5) ORDER BY o.item_seq, o.target LIMIT $7",
            self.job,
            self.worker,
            stage,
            after[0],
            after[1],
            self.location,
            limit,
        )
        return [output_from_row(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        """Finished items of the whole job, unfinished ones of this worker (what its engine waits for)."""
        rows = await self._db.fetch(
            "SELECT stage, count(*) FROM voiceapi_job_items WHERE job = $1"
            f" AND (stage = ANY($3::text[]) OR ({_MINE})) GROUP BY stage",
            self.job,
            self.worker,
            _FINAL,
        )
        return {r[0]: r[1] for r in rows}

    async def plan_totals(self) -> dict[str, float]:
        row = await self._db.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE stage = $2 AND error_stage = $3),"
            " coalesce(sum(duration), 0),"
            " count(*) FILTER (WHERE duration IS NULL AND NOT (stage = $2 AND error_stage = $3)),"
            " coalesce(sum(coalesce(duration, 0) * n_targets), 0),"
            " coalesce(sum(coalesce(duration, 0) * n_targets) FILTER (WHERE stage = ANY($4::text[])), 0),"
            " coalesce(sum(chars), 0), coalesce(max(n_targets), 0)"
            " FROM voiceapi_job_items WHERE job = $1",
            self.job,
            ItemStage.FAILED,
            Step.VALIDATE,
            [str(s) for s in SUBMIT_STAGES],
        )
        names = ("items", "invalid", "duration", "unknown", "charge", "remaining", "chars", "targets")
        return {name: float(value) for name, value in zip(names, row, strict=True)}

    async def failures(self, limit: int) -> tuple[list[tuple[str, str, str, str]], int]:
        rows = await self._db.fetch(
            "SELECT key, name, coalesce(error_stage, ''), coalesce(error, '') FROM voiceapi_job_items"
            " WHERE job = $1 AND stage = $2 ORDER BY seq LIMIT $3",
            self.job,
            ItemStage.FAILED,
            limit,
        )
        total = await self._db.fetchval(
            "SELECT count(*) FROM voiceapi_job_items WHERE job = $1 AND stage = $2", self.job, ItemStage.FAILED
        )
        return [(r[0], r[1], r[2], r[3]) for r in rows], int(total)

    async def output_files(self, limit: int) -> tuple[list[str], int]:
        """Where the job's outputs are: each worker's output directory joined with the output's path."""
        rows = await self._db.fetch(
            "SELECT location, path FROM voiceapi_job_outputs WHERE job = $1 AND stage = $2"
            " ORDER BY item_seq, target LIMIT $3",
            self.job,
            OutputStage.DOWNLOADED,
            limit,
        )
        total = await self._db.fetchval(
            "SELECT count(*) FROM voiceapi_job_outputs WHERE job = $1 AND stage = $2", self.job, OutputStage.DOWNLOADED
        )
        return [os.path.join(r[0] or "", r[1] or "") for r in rows], int(total)

    async def output_locations(self) -> list[tuple[str, str, int, str, str]]:
        """``(item key, item name, target, location, path)`` of every downloaded output: the job's report."""
        rows = await self._db.fetch(
            "SELECT i.key, i.name, o.target, o.location, o.path FROM voiceapi_job_outputs o"
            " JOIN voiceapi_job_items i ON i.job = o.job AND i.seq = o.item_seq"
            " WHERE o.job = $1 AND o.stage = $2 ORDER BY o.item_seq, o.target",
            self.job,
            OutputStage.DOWNLOADED,
        )
        return [(r[0], r[1], r[2], r[3] or "", r[4] or "") for r in rows]

    # -- stage transitions (fenced by the lease) ---------------------------------------------

    async def set_stage(self, seq: int, stage: ItemStage, *, intent: bool = False) -> None:
        now = time.time()
        await self._fenced(
            self._db,
            "UPDATE voiceapi_job_items SET stage = $4, updated_at = $5,"
            f" intent_at = CASE WHEN $6 THEN $5 ELSE intent_at END WHERE job = $1 AND seq = $3 AND {_MINE}",
            seq,
            stage,
            now,
            intent,
        )

    async def set_created(self, seq: int, original_id: str) -> None:
        await self._set_original(seq, ItemStage.CREATED, original_id, intent=False)

    async def set_ordering(self, seq: int, original_id: str) -> None:
        await self._set_original(seq, ItemStage.ORDERING, original_id, intent=True)

    async def _set_original(self, seq: int, stage: ItemStage, original_id: str, *, intent: bool) -> None:
        """The item's original is known (its stage ``created``, or ``ordering`` with the order's intent)."""
        await self._fenced(
            self._db,
            "UPDATE voiceapi_job_items SET stage = $4, original_id = $5, attempts = 0, updated_at = $6,"
            f" intent_at = CASE WHEN $7 THEN $6 ELSE intent_at END WHERE job = $1 AND seq = $3 AND {_MINE}",
            seq,
            stage,
            original_id,
            time.time(),
            intent,
        )

    async def set_converting(self, seq: int, outputs: Iterable[tuple[int, str]], round_no: int) -> None:
        async with self._db.acquire() as conn, conn.transaction():
            await self._fenced(
                conn,
                f"UPDATE voiceapi_job_items SET stage = $4, updated_at = $5 WHERE job = $1 AND seq = $3 AND {_MINE}",
                seq,
                ItemStage.CONVERTING,
                time.time(),
            )
            await conn.executemany(
                "INSERT INTO voiceapi_job_outputs (job, item_seq, target, recording_id, stage, since_round)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job, item_seq, target) DO UPDATE SET"
                " recording_id = excluded.recording_id, stage = excluded.stage, since_round = excluded.since_round,"
                " retries = 0, url = NULL, path = NULL, size = NULL, error = NULL, location = NULL",
                [(self.job, seq, target, rid, OutputStage.PROCESSING, round_no) for target, rid in outputs],
            )

    async def fail_item(self, seq: int, step: Step, reason: str) -> None:
        async with self._db.acquire() as conn, conn.transaction():
            await self._fenced(
                conn,
                "UPDATE voiceapi_job_items SET stage = $4, error_stage = $5, error = $6, updated_at = $7"
                f" WHERE job = $1 AND seq = $3 AND {_MINE}",
                seq,
                ItemStage.FAILED,
                step,
                reason,
                time.time(),
            )
            await conn.execute(
                "UPDATE voiceapi_job_outputs SET stage = $3, error = coalesce(error, $4)"
                " WHERE job = $1 AND item_seq = $2 AND stage <> ALL($5::text[])",
                self.job,
                seq,
                OutputStage.FAILED,
                reason,
                [str(s) for s in FINAL_OUTPUT_STAGES],
            )

    # -- watching and downloading -----------------------------------------------------------

    async def lookup(
        self, ids: Sequence[str], errored: Sequence[str] = ()
    ) -> tuple[dict[str, OutputRow], dict[str, ItemRow]]:
        if not ids:
            return {}, {}
        rows = await self._db.fetch(
            "SELECT o.item_seq, o.target, o.recording_id, o.stage, o.retries, o.url, o.path, o.size, o.error"
            " FROM voiceapi_job_outputs o JOIN voiceapi_job_items i ON i.job = o.job AND i.seq = o.item_seq"
            " WHERE o.job = $1 AND i.lease_owner = $2 AND i.lease_until > now()"
            " AND o.recording_id = ANY($3::text[]) AND o.stage = ANY($4::text[])",
            self.job,
            self.worker,
            list(ids),
            [str(s) for s in WATCHED_OUTPUT_STAGES],
        )
        outs = {r["recording_id"] or "": output_from_row(r) for r in rows}
        if not errored:
            return outs, {}
        item_rows = await self._db.fetch(
            f"SELECT {_ITEM_COLS} FROM voiceapi_job_items WHERE job = $1 AND {_MINE}"
            " AND original_id = ANY($3::text[]) AND stage = ANY($4::text[])",
            self.job,
            self.worker,
            list(errored),
            [ItemStage.CREATED, ItemStage.ORDERING, ItemStage.CONVERTING],
        )
        return outs, {r["original_id"] or "": item_from_row(r) for r in item_rows}

    async def watched(self, before_round: int) -> list[str]:
        rows = await self._db.fetch(
            "SELECT o.recording_id FROM voiceapi_job_outputs o JOIN voiceapi_job_items i"
            " ON i.job = o.job AND i.seq = o.item_seq WHERE o.job = $1 AND i.lease_owner = $2"
            " AND i.lease_until > now() AND o.stage = ANY($3::text[]) AND i.stage = $4 AND o.since_round <> $5",
            self.job,
            self.worker,
            [str(s) for s in WATCHED_OUTPUT_STAGES],
            ItemStage.CONVERTING,
            before_round,
        )
        return [r[0] for r in rows]

    async def has_watched(self) -> bool:
        row = await self._db.fetchval(
            "SELECT 1 FROM voiceapi_job_outputs o JOIN voiceapi_job_items i ON i.job = o.job AND i.seq = o.item_seq"
            " WHERE o.job = $1 AND i.lease_owner = $2 AND i.lease_until > now()"
            " AND o.stage = ANY($3::text[]) AND i.stage = $4 LIMIT 1",
            self.job,
            self.worker,
            [str(s) for s in WATCHED_OUTPUT_STAGES],
            ItemStage.CONVERTING,
        )
        return row is not None

    async def any_created(self) -> bool:
        row = await self._db.fetchval(
            "SELECT 1 FROM voiceapi_job_items WHERE job = $1 AND intent_at IS NOT NULL LIMIT 1", self.job
        )
        return row is not None

    async def set_original_state(self, seq: int, state: str) -> None:
        await self._fenced(
            self._db,
            f"UPDATE voiceapi_job_items SET original_state = $4 WHERE job = $1 AND seq = $3 AND {_MINE}",
            seq,
            state,
        )

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
        location = self.location if path is not None else None
        await self._fenced(
            self._db,
            "UPDATE voiceapi_job_outputs o SET stage = $5, url = coalesce($6, o.url), path = coalesce($7, o.path),"
            " size = coalesce($8, o.size), error = $9, retries = o.retries + $10,"
            " recording_id = coalesce($11, o.recording_id), location = coalesce($12, o.location)"
            " FROM voiceapi_job_items i WHERE o.job = $1 AND o.item_seq = $3 AND o.target = $4"
            " AND i.job = o.job AND i.seq = o.item_seq AND i.lease_owner = $2 AND i.lease_until > now()",
            seq,
            target,
            stage,
            url,
            path,
            size,
            error,
            int(add_retry),
            recording_id,
            location,
        )

    async def settle_item(self, seq: int) -> ItemStage | None:
        async with self._db.acquire() as conn, conn.transaction():
            return await self._settle(conn, seq)

    async def set_downloaded(self, seq: int, target: int, *, path: str, size: int, url: str | None) -> ItemStage | None:
        async with self._db.acquire() as conn, conn.transaction():
            await self._fenced(
                conn,
                "UPDATE voiceapi_job_outputs o SET stage = $5, path = $6, size = $7, url = coalesce($8, o.url),"
                " error = NULL, location = $9 FROM voiceapi_job_items i WHERE o.job = $1 AND o.item_seq = $3"
                " AND o.target = $4 AND i.job = o.job AND i.seq = o.item_seq AND i.lease_owner = $2"
                " AND i.lease_until > now()",
                seq,
                target,
                OutputStage.DOWNLOADED,
                path,
                size,
                url,
                self.location,
            )
            return await self._settle(conn, seq)

    async def _settle(self, conn: Any, seq: int) -> ItemStage | None:
        """In ``conn``'s transaction: finish a converting item of this worker whose outputs are all final."""
        row = await conn.fetchrow(
            f"SELECT stage, ({_MINE}) AS mine FROM voiceapi_job_items WHERE job = $1 AND seq = $3 FOR UPDATE",
            self.job,
            self.worker,
            seq,
        )
        if row["stage"] != ItemStage.CONVERTING:
            return None
        if not row["mine"]:
            raise LeaseLostError(f"item {seq} of job {self.job!r} is no longer this worker's (its lease ran out)")
        outs = await conn.fetch(
            "SELECT stage, error FROM voiceapi_job_outputs WHERE job = $1 AND item_seq = $2", self.job, seq
        )
        if not outs or any(r["stage"] not in FINAL_OUTPUT_STAGES for r in outs):
            return None
        errors = [r["error"] or "failed" for r in outs if r["stage"] == OutputStage.FAILED]
        outcome = ItemStage.FAILED if errors else ItemStage.DONE
        await conn.execute(
            "UPDATE voiceapi_job_items SET stage = $3, error_stage = $4, error = $5, updated_at = $6"
            " WHERE job = $1 AND seq = $2",
            self.job,
            seq,
            outcome,
            Step.CONVERT if errors else None,
            "; ".join(dict.fromkeys(errors)) if errors else None,
            time.time(),
        )
        return outcome

    async def unsettled_items(self) -> list[int]:
        rows = await self._db.fetch(
            f"SELECT seq FROM voiceapi_job_items i WHERE job = $1 AND {_MINE} AND stage = $3 AND NOT EXISTS"
            " (SELECT 1 FROM voiceapi_job_outputs o WHERE o.job = i.job AND o.item_seq = i.seq"
            " AND o.stage <> ALL($4::text[]))",
            self.job,
            self.worker,
            ItemStage.CONVERTING,
            [str(s) for s in FINAL_OUTPUT_STAGES],
        )
        return [r[0] for r in rows]

    async def converting_items(self) -> list[int]:
        rows = await self._db.fetch(
            f"SELECT seq FROM voiceapi_job_items WHERE job = $1 AND {_MINE} AND stage = $3",
            self.job,
            self.worker,
            ItemStage.CONVERTING,
        )
        return [r[0] for r in rows]

    async def reopen_output(self, seq: int, target: int) -> ItemStage:
        async with self._db.acquire() as conn, conn.transaction():
            stage = await conn.fetchval(
                "SELECT stage FROM voiceapi_job_items WHERE job = $1 AND seq = $2", self.job, seq
            )
            # A finished item whose file this worker lost is taken back (leased) to download it again.
            await self._fenced(
                conn,
                "UPDATE voiceapi_job_items SET stage = $4, error = NULL, error_stage = NULL, lease_owner = $2,"
                " lease_until = now() + make_interval(secs => $5) WHERE job = $1 AND seq = $3"
                " AND (lease_owner IS NULL OR lease_until <= now() OR lease_owner = $2)",
                seq,
                ItemStage.CONVERTING,
                self.lease_seconds,
            )
            await conn.execute(
                "UPDATE voiceapi_job_outputs SET stage = $4, size = NULL WHERE job = $1 AND item_seq = $2 AND target = $3",
                self.job,
                seq,
                target,
                OutputStage.CONVERTED,
            )
        return ItemStage(stage)

    async def reopen_failed(self) -> int:
        failed = ItemStage.FAILED
        async with self._db.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"voiceapi_job_items:{self.job}")
            count = await conn.fetchval(
                "SELECT count(*) FROM voiceapi_job_items WHERE job = $1 AND stage = $2", self.job, failed
            )
            await conn.execute(
                "DELETE FROM voiceapi_job_items WHERE job = $1 AND stage = $2 AND error_stage = $3",
                self.job,
                failed,
                Step.VALIDATE,
            )
            await conn.execute(
                "UPDATE voiceapi_job_outputs o SET stage = CASE WHEN o.url IS NOT NULL THEN $2 ELSE $3 END,"
                " retries = 0, error = NULL FROM voiceapi_job_items i WHERE o.job = $1 AND o.stage = $4 AND i.job = o.job"
                " AND i.seq = o.item_seq AND i.stage = $5",
                self.job,
                OutputStage.CONVERTED,
                OutputStage.PROCESSING,
                OutputStage.FAILED,
                failed,
            )
            await conn.execute(
                "UPDATE voiceapi_job_items i SET stage = CASE WHEN EXISTS (SELECT 1 FROM voiceapi_job_outputs o"
                " WHERE o.job = i.job AND o.item_seq = i.seq) THEN $2 WHEN original_id IS NOT NULL THEN $3 ELSE $4 END,"
                " attempts = 0, error = NULL, error_stage = NULL, updated_at = $5, lease_owner = NULL,"
                " lease_until = NULL WHERE job = $1 AND stage = $6",
                self.job,
                ItemStage.CONVERTING,
                ItemStage.CREATED,
                ItemStage.PENDING,
                time.time(),
                failed,
            )
        return int(count)

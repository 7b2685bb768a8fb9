"""Typed results of a job: per-item events, progress snapshots, the plan and the summary.

All are frozen ``msgspec.Struct``s: cheap to create, immutable, and serialisable
(``msgspec.json.encode(event)`` carries an ``"event"`` tag), so a CLI can log them as JSON lines.
"""

from __future__ import annotations

import enum

import msgspec

__all__ = [
    "ItemConverted",
    "ItemDone",
    "ItemDownloaded",
    "ItemFailed",
    "ItemFailure",
    "ItemOrdered",
    "ItemPostponed",
    "ItemRetried",
    "ItemSynthesized",
    "ItemUploaded",
    "JobEvent",
    "JobPlan",
    "JobStatus",
    "JobSummary",
    "PartsJoined",
    "Progress",
]


class JobEvent(msgspec.Struct, frozen=True, kw_only=True, tag_field="event", tag=True):
    """Something happened to one item.  ``key`` identifies the item in the journal; ``name`` is for humans."""

    key: str
    name: str


class ItemUploaded(JobEvent, frozen=True, kw_only=True, tag=True):
    """The file is on the server as an original.  ``reconciled``: found there after an interruption, not re-sent."""

    original_id: str
    reconciled: bool = False


class ItemSynthesized(JobEvent, frozen=True, kw_only=True, tag=True):
    """The text became a TTS original (``reconciled`` as for ``ItemUploaded``)."""

    original_id: str
    reconciled: bool = False


class ItemOrdered(JobEvent, frozen=True, kw_only=True, tag=True):
    """One order placed for the original, carrying all its conversions."""

    original_id: str
    conversion_ids: tuple[str, ...]
    reconciled: bool = False


class ItemRetried(JobEvent, frozen=True, kw_only=True, tag=True):
    """An errored conversion was sent again (``orders.retry``)."""

    target: str
    recording_id: str
    attempt: int
    error: str


class ItemConverted(JobEvent, frozen=True, kw_only=True, tag=True):
    """A conversion (or a TTS original without conversions) is ``done`` on the server."""

    target: str
    recording_id: str


class ItemDownloaded(JobEvent, frozen=True, kw_only=True, tag=True):
    """A result is on disk (written atomically)."""

    target: str
    recording_id: str
    path: str
    size: int


class ItemDone(JobEvent, frozen=True, kw_only=True, tag=True):
    """Every output of the item is on disk."""

    outputs: tuple[str, ...]


class ItemFailed(JobEvent, frozen=True, kw_only=True, tag=True):
    """The item cannot be finished; ``stage`` is where it failed and ``reason`` why.  The batch goes on."""

    stage: str
    reason: str


class ItemPostponed(JobEvent, frozen=True, kw_only=True, tag=True):
    """A step failed transiently (5xx, reset, timeout, 429) ``max_attempts`` times; the item is not failed.

    ``retry_in``: seconds until this run tries it again; ``None``: it is left pending for the next run.
    """

    stage: str
    reason: str
    retry_in: float | None


class PartsJoined(JobEvent, frozen=True, kw_only=True, tag=True):
    """The parts of a long text (items ``<key>.1``, ``<key>.2``, ...) joined into one file for ``target``."""

    target: str
    parts: int
    path: str


class ItemFailure(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    name: str
    stage: str
    reason: str


class JobStatus(str, enum.Enum):
    COMPLETED = "completed"  # every item done
    COMPLETED_WITH_FAILURES = "completed_with_failures"  # every item final, some failed
    INCOMPLETE = "incomplete"  # transient failures left some items pending: run again to finish them
    STOPPED = "stopped"  # 401/402: stopped cleanly, resumable
    CANCELLED = "cancelled"  # the task was cancelled, resumable
    RUNNING = "running"


class Progress(msgspec.Struct, frozen=True, kw_only=True):
    """Counts per stage (items), plus throughput: ``rate`` in items finished per second, ``eta`` in seconds."""

    total: int
    stages: dict[str, int]
    done: int
    failed: int
    requests: int
    rate_limited: int
    elapsed: float
    rate: float
    eta: float | None


class JobPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a run would do and cost, computed locally plus one credits request.

    Durations are seconds of audio read from the files' headers (TTS: estimated from the
    text).  ``estimated_charge`` is duration x conversions for the whole job;
    ``remaining_charge`` only what is not yet ordered (a resumed job pays that part).
    """

    items: int
    invalid: int
    total_duration: float
    unknown_duration: int
    conversions_per_item: int
    estimated_charge: float
    remaining_charge: float
    credits: float | None
    affordable: bool
    characters: int = 0
    invalid_items: tuple[ItemFailure, ...] = ()


class JobSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a run (also of a stopped or cancelled one).

    ``counts`` maps each journal stage to its number of items.  ``requests`` counts HTTP
    attempts made through the client during the run, ``rate_limited`` the 429 answers seen.
    ``failures`` lists at most ``max_failures`` items (``failures_truncated`` says how many more);
    ``output_files`` likewise lists at most ``max_failures`` paths of ``output_count`` (for all of
    them, ``read_journal(output_dir).items()``): a summary stays small for any batch size.
    """

    status: JobStatus
    total: int
    done: int
    failed: int
    counts: dict[str, int]
    failures: tuple[ItemFailure, ...]
    failures_truncated: int
    requests: int
    requests_by_endpoint: dict[str, int]
    rate_limited: int
    conversion_retries: int
    duration: float
    output_files: tuple[str, ...]
    output_count: int
    journal_path: str
    error: str | None = None
    #: Items neither done nor failed (left for the next run: transient failures, a 402, or a cancel).
    pending: int = 0

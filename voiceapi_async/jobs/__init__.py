"""Bulk jobs: convert many files (or speak many texts) with resumable, economical pipelines.

>>> from voiceapi_async import VoiceClient
>>> from voiceapi_async.jobs import BatchConvertJob, Target
>>> async with VoiceClient() as client:
...     job = BatchConvertJob(client, "in/", [Target("Alice")], "out/")
...     plan = await job.plan()          # files, audio seconds, charge, credits
...     async for event in job.run():    # ItemUploaded, ItemOrdered, ..., ItemDone / ItemFailed
...         ...
...     print(job.summary)

A SQLite journal in the output directory records every step, so running the same job
again resumes it: nothing is uploaded, ordered or downloaded twice.  The library never
prints; observe it through events, ``on_progress`` callbacks and the summary, and read a
journal afterwards (offline) with ``read_journal(output_dir)``.
"""

from ._convert import BatchConvertJob
from ._errors import (
    CostGuardError,
    JobConfigError,
    JobError,
    JobStoppedError,
    JournalMismatchError,
    JournalVersionError,
    UnknownVoiceError,
)
from ._events import (
    ItemConverted,
    ItemDone,
    ItemDownloaded,
    ItemFailed,
    ItemFailure,
    ItemOrdered,
    ItemPostponed,
    ItemRetried,
    ItemSynthesized,
    ItemUploaded,
    JobEvent,
    JobPlan,
    JobStatus,
    JobSummary,
    PartsJoined,
    Progress,
)
from ._job import JOURNAL_NAME, BaseJob
from ._pgstore import LeaseLostError
from ._progress import ProgressCallback
from ._rebuild import Rebuilt
from ._report import ItemReport, JournalReport, OutputReport, read_journal
from ._sources import DEFAULT_INCLUDE, AudioInputs
from ._targets import Target
from ._texts import TextItem, TTSInputs, split_text
from ._tts import TTSJob

__all__ = [
    "DEFAULT_INCLUDE",
    "JOURNAL_NAME",
    "AudioInputs",
    "BaseJob",
    "BatchConvertJob",
    "CostGuardError",
    "ItemConverted",
    "ItemDone",
    "ItemDownloaded",
    "ItemFailed",
    "ItemFailure",
    "ItemOrdered",
    "ItemPostponed",
    "ItemReport",
    "ItemRetried",
    "ItemSynthesized",
    "ItemUploaded",
    "JobConfigError",
    "JobError",
    "JobEvent",
    "JobPlan",
    "JobStatus",
    "JobStoppedError",
    "JobSummary",
    "JournalMismatchError",
    "JournalReport",
    "JournalVersionError",
    "LeaseLostError",
    "OutputReport",
    "PartsJoined",
    "Progress",
    "ProgressCallback",
    "Rebuilt",
    "TTSInputs",
    "TTSJob",
    "Target",
    "TextItem",
    "UnknownVoiceError",
    "read_journal",
    "split_text",
]

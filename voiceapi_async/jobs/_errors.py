"""Errors of the job orchestrator.  All derive from ``VoiceAPIError`` like the SDK's own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import InvalidRequestError, VoiceAPIError
from .._errors import UnknownVoiceError as _UnknownVoiceError

if TYPE_CHECKING:
    from ._events import JobPlan, JobSummary

__all__ = [
    "CostGuardError",
    "JobConfigError",
    "JobError",
    "JobStoppedError",
    "JournalMismatchError",
    "JournalVersionError",
    "UnknownVoiceError",
]


class JobError(VoiceAPIError):
    """Base class of the errors a job raises itself."""


class JobConfigError(JobError, InvalidRequestError):
    """The job's options are wrong; caught before anything is uploaded."""


class UnknownVoiceError(JobConfigError, _UnknownVoiceError):
    """A target names a voice (or accent, narration style, TTS voice) the service does not have.

    Also a ``voiceapi_async.UnknownVoiceError``; ``suggestions`` lists close names.
    """


class JournalMismatchError(JobConfigError):
    """The journal in the output directory belongs to a different job (other targets or kind).

    ``journal_path`` is that journal; ``differences`` says what differs (``None``: the
    journal belongs to another ``job_id``), so that a front end (the CLI) can name its own
    options for the fixes.
    """

    def __init__(self, message: str, *, journal_path: str = "", differences: str | None = None) -> None:
        super().__init__(message)
        self.journal_path = journal_path
        self.differences = differences


class JournalVersionError(JobConfigError):
    """The journal was written by another version of voiceapi-async (another ``SCHEMA_VERSION``).

    ``found`` is the journal's version (``None``: unreadable), ``expected`` this version's.
    Nothing was changed in the file.
    """

    def __init__(self, path: Path, found: int | None, expected: int) -> None:
        newer = found is not None and found > expected
        super().__init__(
            f"{path} is a job journal of schema version {found if found is not None else 'unknown'}, "
            f"this version of voiceapi-async reads version {expected}: "
            + (
                "upgrade voiceapi-async to resume that job, "
                if newer
                else "finish that job with the version that started it, "
            )
            + "or start over in another output directory (the journal is left as it is)"
        )
        self.path = path
        self.found = found
        self.expected = expected


class CostGuardError(JobError):
    """The plan costs more credits than the account holds; nothing was spent.  Pass ``force=True`` to run anyway."""

    def __init__(self, message: str, *, plan: JobPlan) -> None:
        super().__init__(message)
        self.plan = plan


class JobStoppedError(JobError):
    """The batch stopped on an account-level error; the journal is consistent and a re-run resumes.

    ``__cause__`` is the ``AuthenticationError`` (401), ``InsufficientCreditsError`` (402)
    or ``RateLimitStoreError`` (the shared rate-limit store failed: nothing was sent blind);
    ``summary`` is the job's summary at the moment it stopped.
    """

    def __init__(self, message: str, *, summary: JobSummary) -> None:
        super().__init__(message)
        self.summary = summary

"""Errors of the job orchestrator.  All derive from ``VoiceAPIError`` like the SDK's own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import InvalidRequestError, VoiceAPIError

if TYPE_CHECKING:
    from ._events import JobPlan, JobSummary

__all__ = [
    "CostGuardError",
    "JobConfigError",
    "JobError",
    "JobStoppedError",
    "JournalMismatchError",
    "UnknownVoiceError",
]


class JobError(VoiceAPIError):
    """Base class of the errors a job raises itself."""


class JobConfigError(JobError, InvalidRequestError):
    """The job's options are wrong; caught before anything is uploaded."""


class UnknownVoiceError(JobConfigError):
    """A target names a voice (or accent, narration style, TTS voice) the service does not have."""


class JournalMismatchError(JobConfigError):
    """The journal in the output directory belongs to a different job (other targets or kind)."""


class CostGuardError(JobError):
    """The plan costs more credits than the account holds; nothing was spent.  Pass ``force=True`` to run anyway."""

    def __init__(self, message: str, *, plan: JobPlan) -> None:
        super().__init__(message)
        self.plan = plan


class JobStoppedError(JobError):
    """The batch stopped on an account-level error (401 or 402); the journal is consistent and a re-run resumes.

    ``__cause__`` is the ``AuthenticationError`` or ``InsufficientCreditsError``;
    ``summary`` is the job's summary at the moment it stopped.
    """

    def __init__(self, message: str, *, summary: JobSummary) -> None:
        super().__init__(message)
        self.summary = summary

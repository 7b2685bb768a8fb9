"""Enumerations of the API.  All are open: unknown values decode without error."""

from __future__ import annotations

from ._base import OpenEnum

__all__ = [
    "AgeGroup",
    "CalibrationState",
    "Direction",
    "Gender",
    "OrderState",
    "PitchGroup",
    "ProjectSortField",
    "RecordingState",
    "RecordingType",
    "Species",
    "TTSVoiceVisibility",
    "TrustLevel",
    "Visibility",
    "VoiceSortField",
]


class Direction(OpenEnum):
    ASC = "asc"
    DESC = "desc"


class RecordingState(OpenEnum):
    PROCESSING = "processing"
    DONE = "done"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        """``done`` and ``error`` are final; anything else (known or not) is in progress."""
        return self in (RecordingState.DONE, RecordingState.ERROR)


class RecordingType(OpenEnum):
    ORIGINAL = "original"
    CONVERTED = "converted"


class OrderState(OpenEnum):
    NEW = "new"
    PRE_PROCESSING = "pre_processing"
    PROCESSING = "processing"
    POST_PROCESSING = "post_processing"
    DONE = "done"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        return self in (OrderState.DONE, OrderState.ERROR)


class CalibrationState(OpenEnum):
    PROCESSING = "processing"
    CALIBRATED = "calibrated"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        return self in (CalibrationState.CALIBRATED, CalibrationState.ERROR)


class Visibility(OpenEnum):
    PUBLIC = "public"
    PAID = "paid"
    PRIVATE = "private"
    KIDS = "kids"


class TTSVoiceVisibility(OpenEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class Species(OpenEnum):
    HUMAN = "human"
    ANIMAL = "animal"
    OTHER = "other"


class Gender(OpenEnum):
    MALE = "male"
    FEMALE = "female"


class AgeGroup(OpenEnum):
    CHILD = "child"
    YOUNG = "young"
    ADULT = "adult"
    SENIOR = "senior"


class PitchGroup(OpenEnum):
    LOW = "low"
    MID = "mid"
    HIGH = "high"


class ProjectSortField(OpenEnum):
    NAME = "name"
    CREATED_AT = "created_at"
    LAST_RECORDING_AT = "last_recording_at"


class VoiceSortField(OpenEnum):
    DEFAULT = "default"
    NAME = "name"
    PITCH = "pitch"
    RATING = "rating"
    CREATED_AT = "created_at"


class TrustLevel(OpenEnum):
    """The account's trust level (``UserData.t_level``)."""

    GRAY = "gray"
    RED = "red"
    ORANGE = "orange"
    GREEN = "green"

"""Pydantic v2 models of the same shapes as the SDK's structs.

This is what the generated vendor SDKs look like (one ``BaseModel`` per schema, enums,
optional fields, ``datetime`` parsing), for the httpx + pydantic baseline of B1.  The
baseline decodes with ``model_validate_json`` straight from bytes: the fastest pydantic
path, so the comparison is generous to it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Generic, List, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Visibility(str, enum.Enum):
    PUBLIC = "public"
    PAID = "paid"
    PRIVATE = "private"
    KIDS = "kids"


class Species(str, enum.Enum):
    HUMAN = "human"
    ANIMAL = "animal"
    OTHER = "other"


class Gender(str, enum.Enum):
    MALE = "male"
    FEMALE = "female"


class AgeGroup(str, enum.Enum):
    CHILD = "child"
    YOUNG = "young"
    ADULT = "adult"
    SENIOR = "senior"


class PitchGroup(str, enum.Enum):
    LOW = "low"
    MID = "mid"
    HIGH = "high"


class RecordingState(str, enum.Enum):
    PROCESSING = "processing"
    DONE = "done"
    ERROR = "error"


class RecordingType(str, enum.Enum):
    ORIGINAL = "original"
    CONVERTED = "converted"


class Tier(_Model):
    name: str


class AccentInfo(_Model):
    name: str
    short_name: str = ""
    locale: str = ""


class AccentSettings(_Model):
    favorite: bool = False
    semitones_correction: float = 0


class Accent(_Model):
    id: str
    info: AccentInfo
    is_default: bool = False
    native: bool = False
    tiers: List[Tier] = Field(default_factory=list)
    available: bool = False
    settings: AccentSettings | None = None


class NarrationStyleInfo(_Model):
    name: str


class NarrationStyleSettings(_Model):
    favorite: bool = False


class NarrationStyle(_Model):
    id: str
    info: NarrationStyleInfo
    is_default: bool = False
    settings: NarrationStyleSettings | None = None


class Voice(_Model):
    id: str
    name: str
    owner_id: str = ""
    slug: str = ""
    visibility: Visibility = Visibility.PUBLIC
    species: Species | None = None
    artist: str | None = None
    verified_artist: bool | None = None
    gender: Gender | None = None
    pitch: float | None = None
    age_group: AgeGroup | None = None
    pitch_group: PitchGroup | None = None
    nationality: str | None = None
    image_url: str | None = None
    thumbnail_url: str | None = None
    description: str | None = None
    rating: int = 0
    active: bool = True
    created_at: dt.datetime | None = None
    favorite: bool = False
    available: bool = False
    accents: List[Accent] = Field(default_factory=list)
    narration_styles: List[NarrationStyle] = Field(default_factory=list)
    tiers: List[Tier] = Field(default_factory=list)


class NoteRef(_Model):
    id: str
    text: str
    active: bool = True


class Recording(_Model):
    id: str
    project_id: str
    type: RecordingType
    state: RecordingState
    parent_folder_id: str | None = None
    url: str | None = None
    waveform_url: str | None = None
    file_name: str | None = None
    label: str | None = None
    original_id: str | None = None
    model_id: str | None = None
    model_name: str | None = None
    calibration_id: str | None = None
    calibration_value: float | None = None
    calibration_name: str | None = None
    microphone: str | None = None
    size: int | None = None
    duration: float = 0
    starred: bool = False
    tts: bool = False
    tts_voice: str | None = None
    tts_voice_id: str | None = None
    text: str | None = None
    params: Any = None
    error: str | None = None
    active: bool = True
    created_at: dt.datetime | None = None
    converted_at: dt.datetime | None = None
    listen_count: int = 0
    process_stage: str | None = None
    note: NoteRef | None = None


class Pagination(_Model):
    count: int = 0
    limit: int = 0
    offset: int = 0


class Page(_Model, Generic[T]):
    list: List[T] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)


VoicePage = Page[Voice]
RecordingPage = Page[Recording]

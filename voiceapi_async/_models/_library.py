"""Projects, folders, recordings, notes, calibrations and orders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from ._base import Model
from ._enums import CalibrationState, OrderState, RecordingState, RecordingType

__all__ = [
    "Calibration",
    "DeletedId",
    "Folder",
    "Note",
    "NoteRef",
    "Order",
    "Project",
    "Recording",
]


class Project(Model):
    id: str
    name: str
    owner: str
    slug: str = ""
    url: str = ""
    models: dict[str, Any] = msgspec.field(default_factory=dict)
    active: bool = True
    created_at: dt.datetime | None = None
    last_recording_at: dt.datetime | None = None


class Folder(Model):
    id: str
    name: str
    project_id: str
    parent_id: str | None = None
    active: bool = True
    created_at: dt.datetime | None = None


class NoteRef(Model):
    """The note embedded in a recording."""

    id: str
    text: str
    active: bool = True


class Note(Model):
    id: str
    recording_id: str
    text: str
    active: bool = True


class Recording(Model):
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
    starred: bool | None = False
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

    @property
    def is_final(self) -> bool:
        """True once the recording is ``done`` or ``error``; unknown states are not final."""
        return self.state.is_final


class DeletedId(Model):
    id: str


class Calibration(Model):
    id: str
    name: str
    state: CalibrationState
    user_id: str = ""
    f0: float | None = None
    algorithm: str | None = None
    bucket: str = ""
    key: str = ""
    error: str | None = None
    created_at: dt.datetime | None = None
    calibrated_at: dt.datetime | None = None
    enabled: bool = False


class Order(Model):
    """One conversion placed by ``orders.create``; ``conversion_id`` is the new recording."""

    id: str
    original_id: str
    conversion_id: str
    state: OrderState
    user_id: str = ""
    tracking_id: str = ""
    transaction_id: str | None = None
    moderation_id: str | None = None
    calibration_id: str | None = None
    f0: float | None = None
    created_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    error: str | None = None

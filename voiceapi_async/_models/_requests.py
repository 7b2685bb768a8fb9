"""Request bodies.  Unset optional fields are omitted from the JSON sent."""

from __future__ import annotations

from typing import Any

from ._base import Model

__all__ = [
    "ConversionTarget",
    "FavoriteUpdate",
    "FolderCreate",
    "FolderUpdate",
    "LoginRequest",
    "NoteCreate",
    "NoteDelete",
    "NoteUpdate",
    "OrderRequest",
    "ProjectCreate",
    "ProjectRename",
    "RecordingPutUpdate",
    "RecordingUpdate",
    "StatsFolderRequest",
    "StatsProjectRequest",
    "TTSCreateV1",
    "TTSCreateV2",
    "VoiceSettingsUpdate",
]


class LoginRequest(Model):
    email: str
    password: str
    session_duration: int | None = None

    def __repr__(self) -> str:
        return f"LoginRequest(email={self.email!r}, password='***')"


class ProjectCreate(Model):
    name: str
    owner: str
    models: dict[str, Any]  # "no longer used" but required by the API: send {}


class ProjectRename(Model):
    name: str


class FolderCreate(Model):
    name: str
    project_id: str
    parent_id: str | None = None


class FolderUpdate(Model):
    name: str


class RecordingUpdate(Model):
    label: str | None = None
    starred: bool | None = None


class RecordingPutUpdate(Model):
    label: str
    starred: bool


class TTSCreateV1(Model):
    project_id: str
    parent_folder_id: str
    voice_id: str
    text: str
    label: str | None = None


class TTSCreateV2(Model):
    parent_folder_id: str
    text: str
    text_language: str | None = None
    label: str | None = None
    tts_voice_id: str | None = None


class NoteCreate(Model):
    recording_id: str
    text: str


class NoteUpdate(Model):
    recording_id: str
    text: str


class NoteDelete(Model):
    recording_id: str


class StatsProjectRequest(Model):
    project_ids: list[str]


class StatsFolderRequest(Model):
    folder_ids: list[str]


class ConversionTarget(Model):
    """One conversion of an order: a voice, and how to render it.

    ``narration_style_id`` is required when the original is TTS; ``accent_id`` and
    ``semitones_correction`` apply to speech-to-speech.
    """

    voice_id: str
    narration_style_id: str | None = None
    accent_id: str | None = None
    semitones_correction: float | None = None
    label: str | None = None


class OrderRequest(Model):
    original_id: str
    conversions: list[ConversionTarget]
    calibration_id: str | None = None
    use_calibration: bool | None = None


class FavoriteUpdate(Model):
    favorite: bool


class VoiceSettingsUpdate(Model):
    voice_id: str
    narration_style_id: str | None = None
    accent_id: str | None = None
    semitones_correction: float | None = None

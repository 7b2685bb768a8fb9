"""Marketplace voices, their accents and narration styles, and TTS voices."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from ._base import Model
from ._enums import AgeGroup, Gender, PitchGroup, Species, TTSVoiceVisibility, Visibility

__all__ = [
    "Accent",
    "AccentInfo",
    "AccentSamples",
    "AccentSettings",
    "NarrationStyle",
    "NarrationStyleInfo",
    "NarrationStyleSettings",
    "TTSVoice",
    "Tier",
    "Voice",
]


class Tier(Model):
    name: str


class AccentInfo(Model):
    name: str
    short_name: str = ""
    locale: str = ""


class AccentSettings(Model):
    favorite: bool = False
    semitones_correction: float = 0


class Accent(Model):
    id: str
    info: AccentInfo
    is_default: bool = False
    native: bool = False
    tiers: list[Tier] = msgspec.field(default_factory=list)
    available: bool = False
    settings: AccentSettings | None = None


class NarrationStyleInfo(Model):
    name: str


class NarrationStyleSettings(Model):
    favorite: bool = False


class NarrationStyle(Model):
    id: str
    info: NarrationStyleInfo
    is_default: bool = False
    settings: NarrationStyleSettings | None = None


class Voice(Model):
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
    accents: list[Accent] = msgspec.field(default_factory=list)
    narration_styles: list[NarrationStyle] = msgspec.field(default_factory=list)
    tiers: list[Tier] = msgspec.field(default_factory=list)

    def default_accent(self) -> Accent | None:
        """The accent marked default, else the first one, else ``None``."""
        return next((a for a in self.accents if a.is_default), self.accents[0] if self.accents else None)

    def default_narration_style(self) -> NarrationStyle | None:
        styles = self.narration_styles
        return next((s for s in styles if s.is_default), styles[0] if styles else None)


class TTSVoice(Model):
    id: str
    name: str = ""
    visibility: TTSVoiceVisibility | None = None
    f0: float | None = None
    is_default: bool = False


class AccentSamples(Model):
    samples: dict[str, Any] = msgspec.field(default_factory=dict)

"""Marketplace voices, their accents and narration styles, and TTS voices.

What the OpenAPI does not mark required may be absent or ``null`` (FastAPI sends unset
optional fields as ``null``): such fields are ``X | None``, with the documented default
when absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
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
    favorite: bool | None = False
    semitones_correction: float | None = 0


class Accent(Model):
    """One accent of a voice (speech-to-speech).  ``info`` may be missing on some servers."""

    id: str
    info: AccentInfo | None = None
    is_default: bool = False
    native: bool = False
    tiers: list[Tier] = msgspec.field(default_factory=list)
    available: bool | None = False
    settings: AccentSettings | None = None

    @property
    def name(self) -> str | None:
        """``info.name``, or ``None`` when the server sent no ``info``."""
        return self.info.name if self.info is not None else None


class NarrationStyleInfo(Model):
    name: str


class NarrationStyleSettings(Model):
    favorite: bool | None = False


class NarrationStyle(Model):
    """One narration style of a voice (text-to-speech).

    ``tags`` (e.g. ``["calm", "audiobook"]``) is how the vendor's own TTS helper picks a
    style; servers that do not send them leave it ``None``.  ``info`` may be missing too.
    """

    id: str
    info: NarrationStyleInfo | None = None
    is_default: bool = False
    tags: list[str] | None = None
    settings: NarrationStyleSettings | None = None

    @property
    def name(self) -> str | None:
        """``info.name``, or ``None`` when the server sent no ``info``."""
        return self.info.name if self.info is not None else None


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
    favorite: bool | None = False
    available: bool | None = False
    accents: list[Accent] = msgspec.field(default_factory=list)
    narration_styles: list[NarrationStyle] = msgspec.field(default_factory=list)
    tiers: list[Tier] = msgspec.field(default_factory=list)

    def default_accent(self) -> Accent | None:
        """The accent marked default, else the first one, else ``None``."""
        return next((a for a in self.accents if a.is_default), self.accents[0] if self.accents else None)

    def default_narration_style(self) -> NarrationStyle | None:
        styles = self.narration_styles
        return next((s for s in styles if s.is_default), styles[0] if styles else None)

    def narration_style(self, *, tags: Iterable[str]) -> NarrationStyle:
        """The narration style carrying every one of ``tags`` (case-insensitive), as the vendor's TTS helper picks.

        Among several, the voice's default style wins, else the first listed.  Raises
        ``NarrationStyleNotFoundError`` (listing each style's tags) when none matches.
        """
        from .._errors import InvalidRequestError, NarrationStyleNotFoundError  # _errors imports the models

        wanted_tags = [] if isinstance(tags, str) else list(tags)
        if not wanted_tags or not all(isinstance(t, str) and t.strip() for t in wanted_tags):
            raise InvalidRequestError(
                f"tags must be a non-empty list of non-empty strings, e.g. ['calm'], not {tags!r}"
            )
        wanted = {t.strip().casefold() for t in wanted_tags}
        matches = [s for s in self.narration_styles if wanted <= {t.casefold() for t in s.tags or ()}]
        if matches:
            return next((s for s in matches if s.is_default), matches[0])
        available = {(s.info.name if s.info else None) or s.id: list(s.tags or ()) for s in self.narration_styles}
        raise NarrationStyleNotFoundError(self.name, wanted_tags, available)


class TTSVoice(Model):
    """A text-to-speech voice; only ``id`` is guaranteed (``name`` may be absent or ``null``)."""

    id: str
    name: str | None = None
    visibility: TTSVoiceVisibility | None = None
    f0: float | None = None
    is_default: bool | None = None


class AccentSamples(Model):
    """The audio samples of an accent (``None`` when the server has none to give)."""

    samples: dict[str, Any] | None = None

"""Conversion targets: what the caller asks for (names or ids) and what is sent (ids), resolved once."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from .._client import VoiceClient
from .._errors import InvalidRequestError
from .._errors import UnknownVoiceError as _UnknownVoiceError
from .._models import ConversionTarget, TTSVoice, Voice
from .._validation import check_label, sanitize_label
from ._errors import JobConfigError, UnknownVoiceError

__all__ = ["ResolvedTarget", "Target", "resolve_targets", "resolve_tts_voice"]

_SLUG = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Target:
    """One conversion to make of every input.

    ``voice``, ``accent`` and ``narration_style`` take a name (case-insensitive) or an id.
    ``label`` is the converted recording's label; it defaults to the voice's name and also
    names the output file.  TTS jobs need a narration style: the voice's default unless given,
    by name or id (``narration_style``) or by tags (``narration_style_tags``, e.g.
    ``("calm", "audiobook")``: the style carrying all of them, see ``Voice.narration_style``).
    """

    voice: str
    accent: str | None = None
    narration_style: str | None = None
    semitones_correction: float | None = None
    label: str | None = None
    narration_style_tags: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.voice, str) or not self.voice.strip():
            raise JobConfigError("Target.voice must be a voice name or id")
        if self.label is not None:
            check_label(self.label, field="Target.label")
        tags = self.narration_style_tags
        if tags is not None:
            if isinstance(tags, str) or not tags or not all(isinstance(t, str) and t.strip() for t in tags):
                raise JobConfigError(
                    f"Target.narration_style_tags must be non-empty strings, e.g. ('calm',), not {tags!r}"
                )
            if self.narration_style is not None:
                raise JobConfigError("give a Target narration_style or narration_style_tags, not both")
            object.__setattr__(self, "narration_style_tags", tuple(tags))

    def identity(self) -> dict[str, Any]:
        """What a job's journal compares on resume (tags only when given: older journals match)."""
        fields = dataclasses.asdict(self)
        if fields["narration_style_tags"] is None:
            del fields["narration_style_tags"]
        else:
            fields["narration_style_tags"] = list(fields["narration_style_tags"])
        return fields


class ResolvedTarget(msgspec.Struct, frozen=True, kw_only=True):
    """A target with ids; ``label`` is unique within the job and ``slug`` names output files."""

    voice_id: str
    voice_name: str
    accent_id: str | None = None
    narration_style_id: str | None = None
    semitones_correction: float | None = None
    label: str
    slug: str

    def conversion(self) -> ConversionTarget:
        return ConversionTarget(
            voice_id=self.voice_id,
            narration_style_id=self.narration_style_id,
            accent_id=self.accent_id,
            semitones_correction=self.semitones_correction,
            label=self.label,
        )


def _pick(kind: str, wanted: str, options: Sequence[tuple[str, Sequence[str | None]]], voice: Voice) -> str:
    low = wanted.casefold()
    for option_id, names in options:
        if option_id == wanted or any(n and n.casefold() == low for n in names):
            return option_id
    known = ", ".join(sorted(n for _, names in options for n in names[:1] if n)) or "none"
    raise UnknownVoiceError(f"voice {voice.name!r} has no {kind} {wanted!r} (it has: {known})")


async def _voice(client: VoiceClient, name_or_id: str, cache: dict[str, Voice]) -> Voice:
    key = name_or_id.casefold()
    if key not in cache:
        try:
            cache[key] = await client.voices.resolve(name_or_id)
        except _UnknownVoiceError as exc:
            raise UnknownVoiceError(str(exc), suggestions=exc.suggestions) from None
    return cache[key]


async def resolve_targets(
    client: VoiceClient,
    targets: Sequence[Target],
    *,
    tts: bool,
    cache: dict[str, Voice] | None = None,
) -> list[ResolvedTarget]:
    """Ids for every target (one search per distinct voice).  Raises ``UnknownVoiceError`` before any upload."""
    cache = {} if cache is None else cache
    out: list[ResolvedTarget] = []
    used: set[str] = set()
    for target in targets:
        voice = await _voice(client, target.voice, cache)
        accent_id = None
        if target.accent is not None:
            accents = [(a.id, (a.info.name, a.info.short_name, a.info.locale) if a.info else ()) for a in voice.accents]
            accent_id = _pick("accent", target.accent, accents, voice)
        style_id = None
        if target.narration_style is not None:
            styles = [(s.id, (s.name,)) for s in voice.narration_styles]
            style_id = _pick("narration style", target.narration_style, styles, voice)
        elif target.narration_style_tags is not None:
            try:
                style_id = voice.narration_style(tags=target.narration_style_tags).id
            except InvalidRequestError as exc:  # NarrationStyleNotFoundError among them
                raise UnknownVoiceError(str(exc)) from exc
        elif tts:
            default = voice.default_narration_style()
            if default is None:
                raise UnknownVoiceError(f"voice {voice.name!r} has no narration style, which TTS conversions need")
            style_id = default.id
        label = target.label or sanitize_label(voice.name, fallback="voice")
        base, n = label, 1
        while label.casefold() in used:
            n += 1
            suffix = f" {n}"
            label = base[: 40 - len(suffix)].rstrip() + suffix
        used.add(label.casefold())
        out.append(
            ResolvedTarget(
                voice_id=voice.id,
                voice_name=voice.name,
                accent_id=accent_id,
                narration_style_id=style_id,
                semitones_correction=target.semitones_correction,
                label=label,
                slug=_SLUG.sub("-", label).strip("-") or "voice",
            )
        )
    return out


def resolve_tts_voice(name_or_id: str, voices: Sequence[TTSVoice]) -> str:
    """The id of a TTS voice given by name or id."""
    low = name_or_id.casefold()
    for v in voices:
        if v.id == name_or_id or (v.name or "").casefold() == low:
            return v.id
    names = ", ".join(sorted(v.name for v in voices if v.name)) or "none"
    raise UnknownVoiceError(f"unknown TTS voice {name_or_id!r} (available: {names})")

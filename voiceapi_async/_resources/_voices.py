"""The voice marketplace: voices, their settings, and accent samples."""

from __future__ import annotations

import builtins
import difflib
import functools
import uuid
from collections.abc import Callable
from typing import Any

from .._errors import InvalidRequestError, UnknownVoiceError
from .._models import (
    AccentSamples,
    AgeGroup,
    Direction,
    FavoriteUpdate,
    Gender,
    NarrationStyleSamples,
    PitchGroup,
    Species,
    Visibility,
    Voice,
    VoiceSettingsUpdate,
    VoiceSortField,
)
from .._pagination import AsyncPaginator
from .._validation import check_enum, check_enums, check_id, check_limit, check_offset
from ._base import Resource

__all__ = ["Accents", "NarrationStyles", "Voices"]

VOICES_MAX_LIMIT = 100
SEARCH_MAX_LIMIT = 10

FilterValue = Any  # one value or a list of them

#: How ``Voices.list`` checks each of its sort and filter options (filters take one value or a list).
_LIST_FILTERS: dict[str, Callable[..., Any]] = {
    "sort": functools.partial(check_enum, enum=VoiceSortField),
    "direction": functools.partial(check_enum, enum=Direction),
    "visibility": functools.partial(check_enums, enum=Visibility),
    "species": functools.partial(check_enums, enum=Species),
    "gender": functools.partial(check_enums, enum=Gender),
    "age_group": functools.partial(check_enums, enum=AgeGroup),
    "pitch_group": functools.partial(check_enums, enum=PitchGroup),
}


class Voices(Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        sort: VoiceSortField | str | None = None,
        direction: Direction | str | None = None,
        visibility: FilterValue = None,
        species: FilterValue = None,
        gender: FilterValue = None,
        age_group: FilterValue = None,
        pitch_group: FilterValue = None,
        nationality: str | builtins.list[str] | None = None,
    ) -> AsyncPaginator[Voice]:
        """``GET /api/v2/voices``: await for one page (``limit`` at most 100), ``async for`` for every voice.

        Each filter takes one value or a list.
        """
        params: dict[str, Any] = {"limit": check_limit(limit, VOICES_MAX_LIMIT), "offset": check_offset(offset)}
        filters = {
            "sort": sort,
            "direction": direction,
            "visibility": visibility,
            "species": species,
            "gender": gender,
            "age_group": age_group,
            "pitch_group": pitch_group,
        }
        for name, value in filters.items():  # only those given: the query is built from each (B1)
            if value is not None:
                params[name] = _LIST_FILTERS[name](value, field=name)
        if nationality is not None:
            params["nationality"] = [nationality] if isinstance(nationality, str) else builtins.list(nationality)
        return self._client._paginate("/api/v2/voices", Voice, params, default_limit=25)

    async def search(self, name: str, *, limit: int | None = None) -> builtins.list[Voice]:
        """``GET /api/v2/voices/search``: voices by name (``limit`` at most 10, default 5)."""
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("search needs a non-empty name")
        params = {"name": name, "limit": check_limit(limit, SEARCH_MAX_LIMIT)}
        return await self._client._request("GET", "/api/v2/voices/search", builtins.list[Voice], params=params)

    async def resolve(self, name_or_id: str) -> Voice:
        """The voice with this id, or with exactly this name (case-insensitive); nothing else.

        A near match is never taken ("Cedar Grov" is not "Cedar Grove"): an order placed
        with it would pay for a voice nobody asked for.  ``UnknownVoiceError`` (an
        ``InvalidRequestError``) says so and suggests close names (``.suggestions``).
        One search request for a name; the catalogue is listed only when that search
        cannot answer (no exact hit), and for an id.
        """
        if not isinstance(name_or_id, str) or not name_or_id.strip():
            raise InvalidRequestError("a voice is named by a non-empty name or id")
        wanted = name_or_id.strip()
        if _is_uuid(wanted):
            async for voice in self.list(limit=VOICES_MAX_LIMIT):
                if voice.id == wanted:
                    return voice
            raise UnknownVoiceError(f"no voice has the id {wanted}")
        folded = wanted.casefold()
        if len(wanted) >= 2:  # the search endpoint wants at least 2 characters
            found = await self.search(wanted, limit=SEARCH_MAX_LIMIT)
            exact = [v for v in found if v.name.casefold() == folded]
            if exact and (len(exact) == 1 or len(found) < SEARCH_MAX_LIMIT):
                return _one(wanted, exact)
        # No exact hit among the search's (capped, substring) answers: look at every voice.
        names: dict[str, str] = {}
        exact = []
        async for voice in self.list(limit=VOICES_MAX_LIMIT):
            names.setdefault(voice.name.casefold(), voice.name)
            if voice.name.casefold() == folded:
                exact.append(voice)
        if exact:
            return _one(wanted, exact)
        close = [names[n] for n in _close_names(folded, list(names))]
        hint = f"; did you mean {', '.join(repr(n) for n in close)}?" if close else ""
        raise UnknownVoiceError(
            f"no voice is named {wanted!r} (names must match exactly, case aside, or pass the voice id){hint}",
            suggestions=close,
        )

    async def favorite(self, voice_id: str, favorite: bool = True) -> Voice:
        """``POST /api/v2/voices/favorite/{id}``: mark (or unmark) a voice as a favourite."""
        path = f"/api/v2/voices/favorite/{check_id(voice_id, field='voice_id')}"
        return await self._client._request(
            "POST", path, Voice, json=FavoriteUpdate(favorite=bool(favorite)), idempotent=True
        )

    async def settings(
        self,
        voice_id: str,
        *,
        narration_style_id: str | None = None,
        accent_id: str | None = None,
        semitones_correction: float | None = None,
    ) -> Voice:
        """``POST /api/v2/voices/settings``: favourite an accent/narration style, save a semitone shift."""
        if semitones_correction is not None and accent_id is None:
            raise InvalidRequestError("semitones_correction is saved per accent: pass accent_id too")
        body = VoiceSettingsUpdate(
            voice_id=check_id(voice_id, field="voice_id"),
            narration_style_id=check_id(narration_style_id, field="narration_style_id") if narration_style_id else None,
            accent_id=check_id(accent_id, field="accent_id") if accent_id else None,
            semitones_correction=semitones_correction,
        )
        return await self._client._request("POST", "/api/v2/voices/settings", Voice, json=body, idempotent=True)


class Accents(Resource):
    async def samples(self, accent_id: str) -> AccentSamples:
        """``GET /api/v2/accents/samples``: the audio samples of an accent."""
        params = {"accent_id": check_id(accent_id, field="accent_id")}
        return await self._client._request("GET", "/api/v2/accents/samples", AccentSamples, params=params)


class NarrationStyles(Resource):
    async def samples(self, narration_style_id: str) -> NarrationStyleSamples:
        """``GET /api/v2/narration-styles/samples``: the audio samples of a narration style.

        (In the OpenAPI, not in the endpoint reference.)
        """
        params = {"narration_style_id": check_id(narration_style_id, field="narration_style_id")}
        return await self._client._request(
            "GET", "/api/v2/narration-styles/samples", NarrationStyleSamples, params=params
        )


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _close_names(wanted: str, names: builtins.list[str], n: int = 5) -> builtins.list[str]:
    """Up to ``n`` names like ``wanted`` (casefolded): those sharing a word with it first, then by similarity."""
    words = set(wanted.split())
    near = set(difflib.get_close_matches(wanted, names, n=4 * n, cutoff=0.6))
    near.update(
        name
        for name in names
        if words & set(name.split()) and difflib.SequenceMatcher(None, wanted, name).ratio() >= 0.5
    )

    def rank(name: str) -> tuple[int, float]:
        return -len(words & set(name.split())), -difflib.SequenceMatcher(None, wanted, name).ratio()

    return sorted(near, key=rank)[:n]


def _one(wanted: str, voices: builtins.list[Voice]) -> Voice:
    """The single voice of that name; several distinct voices sharing it are ambiguous."""
    ids = sorted({v.id for v in voices})
    if len(ids) > 1:
        raise UnknownVoiceError(f"{len(ids)} voices are named {wanted!r}: pass one of their ids ({', '.join(ids)})")
    return voices[0]

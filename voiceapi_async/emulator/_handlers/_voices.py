"""The voice marketplace: list with filters, search, per-user favorites and settings, accent samples."""

from __future__ import annotations

import msgspec
from aiohttp import web

from voiceapi_async._models import (
    AccentSamples,
    AccentSettings,
    AgeGroup,
    Direction,
    FavoriteUpdate,
    Gender,
    NarrationStyleSamples,
    NarrationStyleSettings,
    Pagination,
    PitchGroup,
    Species,
    ValidationErrorItem,
    Visibility,
    Voice,
    VoicePage,
    VoiceSettingsUpdate,
    VoiceSortField,
)

from .._http import (
    ApiError,
    check_text,
    check_uuid,
    decode_body,
    enum_list_param,
    enum_param,
    json_response,
    missing,
    page_params,
    raise_if,
    require_uuid,
)
from .._routes import Route
from .._store import Store, UserRec

_SORT_KEYS = {
    VoiceSortField.NAME: lambda v: v.name.lower(),
    VoiceSortField.PITCH: lambda v: v.pitch or 0.0,
    VoiceSortField.RATING: lambda v: v.rating,
    VoiceSortField.CREATED_AT: lambda v: v.created_at,
}
_FILTERS = (
    ("visibility", Visibility),
    ("species", Species),
    ("gender", Gender),
    ("age_group", AgeGroup),
    ("pitch_group", PitchGroup),
)


def personal(user: UserRec, voice: Voice) -> Voice:
    """The voice as this user sees it (favorites, accent settings); the shared struct if untouched."""
    acc, styles = user.accent_settings, user.style_favorites
    touched = (
        voice.id in user.voice_favorites
        or any(a.id in acc for a in voice.accents)
        or any(s.id in styles for s in voice.narration_styles)
    )
    if not touched:
        return voice
    accents = [
        msgspec.structs.replace(a, settings=AccentSettings(favorite=acc[a.id][0], semitones_correction=acc[a.id][1]))
        if a.id in acc
        else a
        for a in voice.accents
    ]
    narration = [
        msgspec.structs.replace(s, settings=NarrationStyleSettings(favorite=True)) if s.id in styles else s
        for s in voice.narration_styles
    ]
    return msgspec.structs.replace(
        voice, favorite=voice.id in user.voice_favorites, accents=accents, narration_styles=narration
    )


async def list_(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    q = request.query
    errors: list[ValidationErrorItem] = []
    limit, offset = page_params(q, errors, 100, default_limit=25)
    sort = enum_param(q, "sort", VoiceSortField, VoiceSortField.DEFAULT, errors)
    direction = enum_param(q, "direction", Direction, Direction.DESC, errors)
    filters = [(name, enum_list_param(q, name, enum, errors)) for name, enum in _FILTERS]
    nationality = {n.lower() for n in q.getall("nationality", ())}
    raise_if(errors)
    voices = st.catalogue.voices
    active = [(name, wanted) for name, wanted in filters if wanted]
    if active or nationality:
        voices = [
            v
            for v in voices
            if all(getattr(v, name) in wanted for name, wanted in active)
            and (not nationality or (v.nationality or "").lower() in nationality)
        ]
    key = _SORT_KEYS.get(sort or VoiceSortField.DEFAULT)
    if key is not None:
        voices = sorted(voices, key=key, reverse=direction == Direction.DESC)  # type: ignore[arg-type]
    page = [personal(user, v) for v in voices[offset : offset + limit]]
    return json_response(VoicePage(list=page, pagination=Pagination(count=len(voices), limit=limit, offset=offset)))


async def search(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    q = request.query
    errors: list[ValidationErrorItem] = []
    name = q.get("name")
    if name is None:
        errors.append(missing(["query", "name"]))
    else:
        check_text(name, ["query", "name"], errors, min_len=2)
    limit, _ = page_params(q, errors, 10, default_limit=5)
    raise_if(errors)
    needle = (name or "").lower()
    found = [personal(user, v) for v in st.catalogue.voices if needle in v.name.lower()][:limit]
    return json_response(found)


def _voice(st: Store, voice_id: str) -> Voice:
    voice = st.catalogue.voice_by_id.get(voice_id)
    if voice is None:
        raise ApiError(404, "Voice not found")
    return voice


async def favorite(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    voice = _voice(st, require_uuid(request.match_info["voice_id"], ["path", "voice_id"]))
    body = await decode_body(request, FavoriteUpdate)
    assert body is not None
    if body.favorite:
        user.voice_favorites.add(voice.id)
    else:
        user.voice_favorites.discard(voice.id)
    return json_response(personal(user, voice))


async def settings(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, VoiceSettingsUpdate)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    check_uuid(body.voice_id, ["body", "voice_id"], errors)
    for name in ("accent_id", "narration_style_id"):
        if getattr(body, name) is not None:
            check_uuid(getattr(body, name), ["body", name], errors)
    raise_if(errors)
    voice = _voice(st, body.voice_id)
    cat = st.catalogue
    if body.accent_id is not None:
        if cat.accent_owner.get(body.accent_id) != voice.id:
            raise ApiError(404, "Accent not found")
        user.accent_settings[body.accent_id] = (True, body.semitones_correction or 0.0)
    if body.narration_style_id is not None:
        if cat.style_owner.get(body.narration_style_id) != voice.id:
            raise ApiError(404, "Narration style not found")
        user.style_favorites.add(body.narration_style_id)
    return json_response(personal(user, voice))


def _samples_of(request: web.Request, param: str, known: dict[str, str], what: str) -> dict[str, str]:
    """The samples of an accent or a narration style: one generated tone each."""
    errors: list[ValidationErrorItem] = []
    item_id = request.query.get(param)
    check_uuid(item_id, ["query", param], errors)
    raise_if(errors)
    if item_id not in known:
        raise ApiError(404, f"{what} not found")
    return {"default": f"/api/files/samples/{item_id}.wav"}


async def accent_samples(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(AccentSamples(samples=_samples_of(request, "accent_id", st.catalogue.accent_owner, "Accent")))


async def narration_style_samples(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """``GET /api/v2/narration-styles/samples`` (in the OpenAPI, not in the endpoint reference)."""
    samples = _samples_of(request, "narration_style_id", st.catalogue.style_owner, "Narration style")
    return json_response(NarrationStyleSamples(samples=samples))


ROUTES = [
    Route("GET", "/api/v2/voices", "voices.list", list_),
    Route("GET", "/api/v2/voices/search", "voices.search", search),
    Route("POST", "/api/v2/voices/favorite/{voice_id}", "voices.favorite", favorite),
    Route("POST", "/api/v2/voices/settings", "voices.settings", settings),
    Route("GET", "/api/v2/accents/samples", "accents.samples", accent_samples),
    Route("GET", "/api/v2/narration-styles/samples", "narration_styles.samples", narration_style_samples),
]

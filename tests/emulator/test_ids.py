"""Ids, lookups and answers the emulator builds the fast way give what the straightforward code gives."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

import msgspec

from voiceapi_async._models import (
    ErrorBody,
    NoteRef,
    Pagination,
    Recording,
    RecordingPage,
    RecordingState,
    RecordingType,
)
from voiceapi_async.emulator._catalogue import Catalogue, uuid4_text
from voiceapi_async.emulator._http import ENCODER, full


def test_uuid4_text_is_the_text_of_a_version_4_uuid() -> None:
    rng = random.Random(7)
    for bits in [0, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(2000))]:
        assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_default_accent_of_every_voice() -> None:
    cat = Catalogue(seed=3, count=60)
    for voice in cat.voices:
        assert cat.default_accent[voice.id] == (voice.default_accent() or voice.accents[0]).id


def _reference_full(obj: Any) -> Any:
    """Every field of every model, walked one by one (what ``full`` computes faster)."""
    if isinstance(obj, msgspec.Struct):
        return {name: _reference_full(getattr(obj, name)) for name in obj.__struct_fields__}
    if isinstance(obj, list):
        return [_reference_full(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _reference_full(v) for k, v in obj.items()}
    return obj


def test_full_answers_send_every_field_of_every_nested_model() -> None:
    cat = Catalogue(seed=5, count=30)
    now = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)
    recording = Recording(
        id="r",
        project_id="p",
        type=RecordingType.CONVERTED,
        state=RecordingState.DONE,
        created_at=now,
        note=NoteRef(id="n", text="a note"),
        params={"accent_id": None, "semitones": 2.0},
    )
    page = RecordingPage(
        list=[
            recording,
            Recording(id="s", project_id="p", type=RecordingType.ORIGINAL, state=RecordingState.ERROR, created_at=now),
        ],
        pagination=Pagination(count=2),
    )
    for obj in [*cat.voices, cat.tts_voices, recording, page, [ErrorBody(detail="x")]]:
        assert full(obj) == _reference_full(obj)
        assert msgspec.json.decode(ENCODER.encode(full(obj))) == msgspec.json.decode(
            ENCODER.encode(_reference_full(obj))
        )

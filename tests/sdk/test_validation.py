"""Bad input fails locally, with a message that says what to fix, before any request."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses

from tests.sdk.samples import FID, PID, RID, VID, wav_bytes
from voiceapi_async import (
    ConversionTarget,
    InvalidRequestError,
    UnsupportedAudioError,
    VoiceClient,
    sanitize_label,
)

CASES: list[tuple[str, Callable[[VoiceClient], Awaitable[Any]], str]] = [
    ("label too long", lambda c: c.recordings.create(FID, wav_bytes(), label="x" * 41), "at most 40"),
    ("label bad chars", lambda c: c.recordings.create(FID, wav_bytes(), label="take_1!"), "letters, digits"),
    ("tts text empty", lambda c: c.tts.create(FID, ""), "non-empty"),
    ("tts text too long", lambda c: c.tts.create(FID, "a" * 1001), "at most 1000"),
    ("v1 text too long", lambda c: c.tts.create_v1(PID, FID, VID, "a" * 1001), "at most 1000"),
    ("recordings limit", lambda c: c.recordings.list(folder_id=FID, limit=201), "0 to 200"),
    ("projects limit", lambda c: c.projects.list(limit=101), "0 to 100"),
    ("voices limit", lambda c: c.voices.list(limit=101), "0 to 100"),
    ("search limit", lambda c: c.voices.search("a", limit=11), "0 to 10"),
    ("folders limit", lambda c: c.folders.list(PID, limit=500), "0 to 200"),
    ("calibrations limit", lambda c: c.calibrations.list(limit=201), "0 to 200"),
    ("negative offset", lambda c: c.projects.list(offset=-1), "non-negative"),
    ("bad direction", lambda c: c.projects.list(direction="up"), "'asc', 'desc'"),
    ("bad sort", lambda c: c.projects.list(sort="size"), "sort must be one of"),
    ("bad voice filter", lambda c: c.voices.list(gender=["male", "robot"]), "gender must be one of"),
    ("bad voice sort", lambda c: c.voices.list(sort="popularity"), "sort must be one of"),
    ("too many ids", lambda c: c.stats.projects([PID] * 201), "at most 200"),
    ("ids as a string", lambda c: c.stats.folders(FID), "list of ids"),
    ("bad uuid", lambda c: c.recordings.get("not-a-uuid"), "not a valid UUID"),
    ("no folder or project", lambda c: c.recordings.list(), "project_id or a folder_id"),
    ("empty order", lambda c: c.orders.create(RID, []), "at least one"),
    ("bad order target", lambda c: c.orders.create(RID, [{"voice_id": VID}]), "ConversionTarget"),  # type: ignore[list-item]
    ("bad order label", lambda c: c.orders.create(RID, [ConversionTarget(voice_id=VID, label="é")]), "letters"),
    (
        "calibration w/o id",
        lambda c: c.orders.create(RID, [ConversionTarget(voice_id=VID)], use_calibration=True),
        "calibration_id",
    ),
    ("empty update", lambda c: c.recordings.update(RID), "label or starred"),
    ("note too long", lambda c: c.notes.create(RID, "n" * 2001), "at most 2000"),
    ("project name", lambda c: c.projects.create("p" * 41, owner=PID), "at most 40"),
    ("semitones w/o accent", lambda c: c.voices.settings(VID, semitones_correction=2), "accent_id"),
    ("not audio", lambda c: c.recordings.create(FID, b"%PDF-1.7 not audio at all"), "not wav, ogg, mp3 or flac"),
    ("empty audio", lambda c: c.recordings.create(FID, b""), "empty"),
    ("missing file", lambda c: c.recordings.create(FID, "/nonexistent/take.wav"), "no such file"),
    ("upload type", lambda c: c.recordings.create(FID, 12345), "cannot upload"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("name", "call", "message"), CASES, ids=[c[0] for c in CASES])
async def test_rejected_locally(
    name: str, call: Callable[[VoiceClient], Awaitable[Any]], message: str, client: VoiceClient, mocked: aioresponses
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(InvalidRequestError, match=message):
            await call(client)
    assert mocked.requests == {}


async def test_unsupported_audio_is_its_own_type_and_judged_by_content(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path
) -> None:
    fake = tmp_path / "song.wav"
    fake.write_bytes(b"ID4 this is text pretending to be audio")
    with pytest.raises(UnsupportedAudioError, match="song.wav"):
        await client.recordings.create(FID, fake)
    directory = tmp_path / "dir.wav"
    directory.mkdir()
    with pytest.raises(InvalidRequestError, match="is a directory"):
        await client.recordings.create(FID, directory)
    assert mocked.requests == {}


async def test_deprecated_v1_tts_warns(client: VoiceClient, mocked: aioresponses) -> None:
    with pytest.warns(DeprecationWarning, match="deprecated"), pytest.raises(InvalidRequestError):
        await client.tts.create_v1(PID, FID, VID, "")


@pytest.mark.parametrize(
    ("raw", "label"),
    [
        ("My_Take (final).wav", "My Take final wav"),
        ("ünïcode—name", "n code name"),
        ("", "recording"),
        ("a" * 60, "a" * 40),
        ("  spaced   out  ", "spaced out"),
    ],
)
def test_sanitize_label_makes_valid_labels(raw: str, label: str) -> None:
    from voiceapi_async._validation import check_label

    assert sanitize_label(raw) == label
    assert check_label(sanitize_label(raw)) == label

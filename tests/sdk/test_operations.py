"""Every operation of the endpoint reference: method, path, query, auth, body and decoded result."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from tests.conftest import API_KEY, BASE
from tests.contract.reference import ENDPOINTS, reference_file
from tests.sdk.samples import (
    AID,
    CALIBRATION,
    CID,
    CONVERSION,
    FID,
    FOLDER,
    NOTE,
    NSID,
    ORDER,
    PID,
    PROJECT,
    RECORDING,
    RID,
    STATS,
    UID,
    USER,
    VID,
    VOICE,
    page,
    wav_bytes,
)
from voiceapi_async import (
    ApiKey,
    Calibration,
    ConversionTarget,
    Folder,
    Order,
    Project,
    Recording,
    RecordingState,
    UserStats,
    Voice,
    VoiceClient,
)

Call = Callable[[VoiceClient], Awaitable[Any]]


@dataclass
class Op:
    name: str
    call: Call
    method: str
    path: str
    answer: Any
    check: Callable[[Any], bool]
    query: list[tuple[str, str]] = field(default_factory=list)
    body: Any = None  # a dict (JSON), or a list of byte strings a multipart body must contain
    status: int = 200


WAV = wav_bytes()

OPERATIONS = [
    # API keys and sessions
    Op(
        "api_keys.create",
        lambda c: c.api_keys.create(),
        "POST",
        "/api/api-key",
        {"api_key": "new-key-value"},
        lambda r: isinstance(r, ApiKey) and r.api_key == "new-key-value" and "new-key" not in repr(r),
    ),
    Op(
        "api_keys.delete",
        lambda c: c.api_keys.delete(),
        "DELETE",
        "/api/api-key",
        {"detail": "OK"},
        lambda r: r.detail == "OK",
    ),
    Op("auth.logout", lambda c: c.auth.logout(), "POST", "/api/logout", {"detail": "OK"}, lambda r: r.detail == "OK"),
    Op(
        "auth.me",
        lambda c: c.auth.me(),
        "POST",
        "/api/auth",
        USER,
        lambda r: r.id == UID and r.data.rate_limits.slow.times == 100,
    ),
    # calibrations
    Op(
        "calibrations.create",
        lambda c: c.calibrations.create("my voice", WAV, filename="cal.wav"),
        "POST",
        "/api/calibration",
        CALIBRATION,
        lambda r: isinstance(r, Calibration) and r.f0 == 120.5,
        body=[b'name="name"', b"my voice", b'name="data"; filename="cal.wav"', b"Content-Type: audio/wav", WAV],
    ),
    Op(
        "calibrations.enable",
        lambda c: c.calibrations.enable(CID),
        "PUT",
        f"/api/calibration/{CID}/enable",
        {**CALIBRATION, "enabled": True},
        lambda r: r.enabled is True,
    ),
    Op(
        "calibrations.set_auto",
        lambda c: c.calibrations.set_auto(),
        "POST",
        "/api/calibration/auto",
        {"detail": "OK"},
        lambda r: r.detail == "OK",
    ),
    Op(
        "calibrations.get",
        lambda c: c.calibrations.get(CID),
        "GET",
        f"/api/calibration/{CID}",
        CALIBRATION,
        lambda r: r.id == CID and r.state == "processing",
    ),
    Op(
        "calibrations.list",
        lambda c: c.calibrations.list(limit=200, offset=5),
        "GET",
        "/api/calibration",
        page([CALIBRATION], count=6, offset=5),
        lambda r: r.list[0].id == CID and r.pagination.count == 6,
        query=[("limit", "200"), ("offset", "5")],
    ),
    Op(
        "calibrations.delete",
        lambda c: c.calibrations.delete(CID),
        "DELETE",
        f"/api/calibration/{CID}",
        CALIBRATION,
        lambda r: r.id == CID,
    ),
    Op(  # in the OpenAPI, not in the endpoint reference
        "calibrations.update",
        lambda c: c.calibrations.update(CID, name="studio mic"),
        "PATCH",
        f"/api/calibration/{CID}",
        {**CALIBRATION, "name": "studio mic"},
        lambda r: isinstance(r, Calibration) and r.name == "studio mic",
        body={"name": "studio mic"},
    ),
    # credits
    Op(
        "credits.get",
        lambda c: c.credits.get(),
        "GET",
        "/api/credits",
        {"credits": 12.5, "initial_credits": 60},
        lambda r: r.credits == 12.5 and r.initial_credits == 60,
    ),
    # projects
    Op(
        "projects.list",
        lambda c: c.projects.list(limit=100, offset=0, sort="name", direction="asc", owner=UID),
        "GET",
        "/api/projects",
        page([PROJECT]),
        lambda r: isinstance(r.list[0], Project) and r.list[0].slug == "audiobook",
        query=[("limit", "100"), ("offset", "0"), ("sort", "name"), ("direction", "asc"), ("owner", UID)],
    ),
    Op(
        "projects.create",
        lambda c: c.projects.create("Audiobook", owner=UID),
        "POST",
        "/api/projects",
        PROJECT,
        lambda r: r.id == PID,
        body={"name": "Audiobook", "owner": UID, "models": {}},
    ),
    Op(
        "projects.update",
        lambda c: c.projects.update(PID, name="Renamed"),
        "PATCH",
        f"/api/projects/{PID}",
        {**PROJECT, "name": "Renamed"},
        lambda r: r.name == "Renamed",
        body={"name": "Renamed"},
    ),
    Op(
        "projects.delete",
        lambda c: c.projects.delete(PID),
        "DELETE",
        f"/api/projects/{PID}",
        {"id": PID},
        lambda r: r.id == PID,
    ),
    Op(
        "projects.get_by_url",
        lambda c: c.projects.get_by_url("audiobook"),
        "GET",
        "/api/projects/by-url",
        PROJECT,
        lambda r: r.id == PID,
        query=[("project_url", "audiobook")],
    ),
    # folders
    Op(
        "folders.list",
        lambda c: c.folders.list(PID, limit=200, direction="desc"),
        "GET",
        "/api/folders",
        page([FOLDER]),
        lambda r: isinstance(r.list[0], Folder),
        query=[("project_id", PID), ("limit", "200"), ("direction", "desc")],
    ),
    Op(
        "folders.create",
        lambda c: c.folders.create(PID, "Chapter 1"),
        "POST",
        "/api/folders",
        FOLDER,
        lambda r: r.id == FID,
        body={"name": "Chapter 1", "project_id": PID},
    ),
    Op(
        "folders.update",
        lambda c: c.folders.update(FID, name="Ch 1"),
        "PATCH",
        f"/api/folders/{FID}",
        {**FOLDER, "name": "Ch 1"},
        lambda r: r.name == "Ch 1",
        body={"name": "Ch 1"},
    ),
    Op("folders.delete", lambda c: c.folders.delete(FID), "DELETE", f"/api/folders/{FID}", [FID], lambda r: r == [FID]),
    Op(
        "folders.get", lambda c: c.folders.get(FID), "GET", f"/api/folders/{FID}", FOLDER, lambda r: r.project_id == PID
    ),
    # recordings
    Op(
        "recordings.list",
        lambda c: c.recordings.list(folder_id=FID, limit=200, offset=200, direction="asc"),
        "GET",
        "/api/recordings",
        page([RECORDING, CONVERSION], count=402, limit=200, offset=200),
        lambda r: len(r.list) == 2 and r.list[1].state == RecordingState.PROCESSING and r.has_more,
        query=[("folder_id", FID), ("limit", "200"), ("offset", "200"), ("direction", "asc")],
    ),
    Op(
        "recordings.originals",
        lambda c: c.recordings.originals(FID, limit=10),
        "GET",
        "/api/recordings/originals",
        page([RECORDING]),
        lambda r: r.list[0].type == "original",
        query=[("folder_id", FID), ("limit", "10")],
    ),
    Op(
        "recordings.conversions",
        lambda c: c.recordings.conversions(RID),
        "GET",
        "/api/recordings/conversions",
        page([CONVERSION]),
        lambda r: r.list[0].original_id == RID,
        query=[("original_id", RID)],
    ),
    Op(
        "recordings.create",
        lambda c: c.recordings.create(FID, WAV, label="take 1", filename="take.mp3"),
        "POST",
        "/api/recordings",
        RECORDING,
        lambda r: isinstance(r, Recording) and r.id == RID,
        body=[
            b'name="parent_folder_id"',
            FID.encode(),
            b'name="microphone"',
            b"file",
            b'name="label"',
            b"take 1",
            b'filename="take.wav"',
            WAV,
        ],
    ),
    Op(
        "tts.create_v1",
        lambda c: c.tts.create_v1(PID, FID, VID, "Hello there", label="greeting"),
        "POST",
        "/api/recordings/tts",
        {**RECORDING, "tts": True, "text": "Hello there"},
        lambda r: r.tts and r.text == "Hello there",
        body={"project_id": PID, "parent_folder_id": FID, "voice_id": VID, "text": "Hello there", "label": "greeting"},
    ),
    Op(
        "recordings.update",
        lambda c: c.recordings.update(RID, starred=True),
        "PATCH",
        f"/api/recordings/{RID}",
        {**RECORDING, "starred": True},
        lambda r: r.starred is True,
        body={"starred": True},
    ),
    Op(
        "recordings.replace",
        lambda c: c.recordings.replace(RID, label="final", starred=False),
        "PUT",
        f"/api/recordings/{RID}",
        {**RECORDING, "label": "final"},
        lambda r: r.label == "final",
        body={"label": "final", "starred": False},
    ),
    Op(
        "recordings.delete",
        lambda c: c.recordings.delete(RID),
        "DELETE",
        f"/api/recordings/{RID}",
        [{"id": RID}, {"id": CID}],
        lambda r: [d.id for d in r] == [RID, CID],
    ),
    Op(
        "recordings.get",
        lambda c: c.recordings.get(RID),
        "GET",
        f"/api/recordings/{RID}",
        RECORDING,
        lambda r: r.note is not None and r.note.text == "hello" and r.created_at.year == 2023,
    ),
    # TTS v2 and voices
    Op(
        "tts.create",
        lambda c: c.tts.create(FID, "Hi.", label="hi", text_language="en"),
        "POST",
        "/api/v2/recordings/tts",
        {**RECORDING, "tts": True},
        lambda r: r.tts is True,
        body={"parent_folder_id": FID, "text": "Hi.", "text_language": "en", "label": "hi"},
    ),
    Op(
        "tts.voices",
        lambda c: c.tts.voices(),
        "GET",
        "/api/tts-voices",
        [{"id": VID, "visibility": "public", "name": "Nova", "f0": 180.0, "is_default": True}],
        lambda r: r[0].name == "Nova" and r[0].is_default,
    ),
    # notes
    Op(
        "notes.create",
        lambda c: c.notes.create(RID, "retake"),
        "POST",
        "/api/notes",
        NOTE,
        lambda r: r.text == "retake",
        body={"recording_id": RID, "text": "retake"},
    ),
    Op(
        "notes.replace",
        lambda c: c.notes.replace(RID, "keep"),
        "PUT",
        "/api/notes",
        {**NOTE, "text": "keep"},
        lambda r: r.text == "keep",
        body={"recording_id": RID, "text": "keep"},
    ),
    Op(
        "notes.delete",
        lambda c: c.notes.delete(RID),
        "DELETE",
        "/api/notes",
        NOTE,
        lambda r: r.id == CID,
        body={"recording_id": RID},
    ),
    Op(  # in the OpenAPI, not in the endpoint reference
        "notes.list",
        lambda c: c.notes.list(FID),
        "GET",
        "/api/notes",
        [NOTE],
        lambda r: [(n.recording_id, n.text) for n in r] == [(RID, "retake")],
        query=[("folder_id", FID)],
    ),
    # statistics
    Op(
        "stats.get",
        lambda c: c.stats.get(),
        "GET",
        "/api/stats",
        STATS,
        lambda r: (
            isinstance(r, UserStats)
            and r.conversions.completed == 2
            and str(r.time_converted.previous_monthes[0].month) == "2023-11-08"
        ),
    ),
    Op(
        "stats.projects",
        lambda c: c.stats.projects([PID]),
        "GET",
        "/api/stats/projects",
        [
            {
                "project_id": PID,
                "time_converted": {"total": 1, "current_month": 1},
                "conversions": {"total": 1, "completed": 1, "in_progress": 0, "failed": 0},
            }
        ],
        lambda r: r[0].project_id == PID and r[0].conversions.completed == 1,
        body={"project_ids": [PID]},
    ),
    Op(
        "stats.folders",
        lambda c: c.stats.folders([FID]),
        "GET",
        "/api/stats/folders",
        [{"folder_id": FID, "stats": {"total": 2, "completed": 1, "in_progress": 0, "failed": 1}}],
        lambda r: r[0].stats.failed == 1,
        body={"folder_ids": [FID]},
    ),
    # orders
    Op(
        "orders.create",
        lambda c: c.orders.create(
            RID, [ConversionTarget(voice_id=VID, accent_id=AID, semitones_correction=-2, label="deep")]
        ),
        "POST",
        "/api/v2/orders",
        [ORDER],
        lambda r: isinstance(r[0], Order) and r[0].conversion_id == CID,
        body={
            "original_id": RID,
            "conversions": [{"voice_id": VID, "accent_id": AID, "semitones_correction": -2, "label": "deep"}],
        },
    ),
    Op(
        "orders.retry",
        lambda c: c.orders.retry(CID),
        "POST",
        f"/api/v2/orders/retry/{CID}",
        ORDER,
        lambda r: r.state == "processing",
    ),
    Op(
        "voices.list",
        lambda c: c.voices.list(
            limit=100, sort="rating", gender=["male", "female"], visibility="public", nationality="US"
        ),
        "GET",
        "/api/v2/voices",
        page([VOICE], limit=100),
        lambda r: (
            isinstance(r.list[0], Voice)
            and r.list[0].default_accent().id == AID
            and r.list[0].narration_styles[0].id == NSID
        ),
        query=[
            ("limit", "100"),
            ("sort", "rating"),
            ("visibility", "public"),
            ("gender", "male"),
            ("gender", "female"),
            ("nationality", "US"),
        ],
    ),
    Op(
        "voices.search",
        lambda c: c.voices.search("aur", limit=10),
        "GET",
        "/api/v2/voices/search",
        [VOICE],
        lambda r: r[0].name == "Aurora",
        query=[("name", "aur"), ("limit", "10")],
    ),
    Op(
        "voices.favorite",
        lambda c: c.voices.favorite(VID),
        "POST",
        f"/api/v2/voices/favorite/{VID}",
        {**VOICE, "favorite": True},
        lambda r: r.favorite is True,
        body={"favorite": True},
    ),
    Op(
        "voices.settings",
        lambda c: c.voices.settings(VID, accent_id=AID, semitones_correction=1.5),
        "POST",
        "/api/v2/voices/settings",
        VOICE,
        lambda r: r.id == VID,
        body={"voice_id": VID, "accent_id": AID, "semitones_correction": 1.5},
    ),
    Op(
        "accents.samples",
        lambda c: c.accents.samples(AID),
        "GET",
        "/api/v2/accents/samples",
        {"samples": {"hello": "/api/files/x.wav"}},
        lambda r: r.samples["hello"] == "/api/files/x.wav",
        query=[("accent_id", AID)],
    ),
    # in the OpenAPI, not in the endpoint reference
    Op(
        "narration_styles.samples",
        lambda c: c.narration_styles.samples(NSID),
        "GET",
        "/api/v2/narration-styles/samples",
        {"samples": {"calm": "/api/files/calm.wav"}},
        lambda r: r.samples == {"calm": "/api/files/calm.wav"},
        query=[("narration_style_id", NSID)],
    ),
    Op(
        "health",
        lambda c: c.health(),
        "GET",
        "/api/healtz",
        {"state": "OK"},
        lambda r: r.state == "OK",
    ),
]


def _url_re(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(BASE + path) + r"(\?.*)?$")


class _Sink:
    """Collects what a multipart writer would put on the wire."""

    def __init__(self) -> None:
        self.data = bytearray()

    async def write(self, chunk: bytes) -> None:
        self.data += chunk

    async def write_eof(self, chunk: bytes = b"") -> None:
        self.data += chunk

    async def drain(self) -> None:
        return None


async def _render(data: Any) -> bytes:
    if isinstance(data, aiohttp.payload.Payload):
        sink = _Sink()
        await data.write(sink)  # type: ignore[arg-type]
        return bytes(sink.data)
    return bytes(data)


def _only_request(mocked: aioresponses) -> tuple[str, Any, dict[str, Any]]:
    assert len(mocked.requests) == 1, list(mocked.requests)
    (method, url), calls = next(iter(mocked.requests.items()))
    assert len(calls) == 1
    return method, url, calls[0].kwargs


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.name)
async def test_operation(op: Op, client: VoiceClient, mocked: aioresponses) -> None:
    mocked.add(_url_re(op.path), method=op.method, payload=op.answer, status=op.status)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = await op.call(client)

    method, url, kwargs = _only_request(mocked)
    assert method == op.method
    assert url.path == op.path
    assert sorted(url.query.items()) == sorted(op.query)
    headers = kwargs["headers"]
    if op.name == "health":  # needs no credentials, so gets none
        assert "api-key" not in headers
    else:
        assert headers["api-key"] == API_KEY
    assert "X-Csrf-Token" not in headers
    sent = await _render(kwargs["data"]) if kwargs.get("data") is not None else None
    if isinstance(op.body, dict):
        assert headers["Content-Type"] == "application/json"
        assert json.loads(sent or b"null") == op.body
    elif isinstance(op.body, list):
        assert sent is not None
        for fragment in op.body:
            assert fragment in sent, fragment
    else:
        assert sent is None
    assert op.check(result), result


def test_every_operation_of_the_reference_is_covered() -> None:
    reference = reference_file(ENDPOINTS)  # shared/ beside the checkout, else the vendored copy: never skips
    documented = set(re.findall(r"^(GET|POST|PUT|PATCH|DELETE) (/api/\S+)$", reference.read_text(), re.M))
    assert len(documented) == 47
    covered = {(op.method, re.sub(r"[0-9a-f-]{36}", "{id}", op.path)) for op in OPERATIONS}
    covered.add(("POST", "/api/login"))  # tested in test_auth.py
    covered |= {("GET", "/api/projects/{id}/export"), ("GET", "/api/recordings/export")}  # test_downloads.py
    normalised = {(m, re.sub(r"\{[a-z_]+\}", "{id}", p)) for m, p in documented}
    # the reference documents stats lists as GET; both are sent as GET with a JSON body
    assert normalised <= covered, sorted(normalised - covered)

"""Canned API answers built from the SDK's models, and a minimal fast HTTP/1.1 server for them.

The server is a plain ``asyncio.Protocol``: it reads a request head, picks a canned
answer by path and writes it, keep-alive, nothing else.  It runs in its own process
pinned to its own core so that none of its CPU is charged to the client measured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing as mp
import os
import random
import signal
import uuid
from typing import Any

import msgspec

from voiceapi_async import Recording, Voice
from voiceapi_async.types import (
    Accent,
    AccentInfo,
    AccentSettings,
    NarrationStyle,
    NarrationStyleInfo,
    NarrationStyleSettings,
    NoteRef,
    Pagination,
    RecordingPage,
    Tier,
    VoicePage,
)

from ._common import pin, wait_for_port

FOLDER_ID = "7a4f3c1e-2b9d-4e8a-9c61-0d5b2f8e4a17"
RECORDING_ID = "3c9e1f7a-5d2b-4a86-8e0f-6b1c9d2a7e45"
VOICES_PATH = "/api/v2/voices?limit=25"
RECORDINGS_PATH = f"/api/recordings?folder_id={FOLDER_ID}&limit=200"
RECORDING_PATH = f"/api/recordings/{RECORDING_ID}"
#: The second page: 25 voices with every accent, narration style and tier (about 50 KB).
RICH_VOICES_PATH = "/api/v2/voices?limit=25&offset=25"
ENDPOINTS = {
    "voices_page_25": VOICES_PATH,
    "recordings_page_200": RECORDINGS_PATH,
    "recording": RECORDING_PATH,
    "voices_page_25_rich": RICH_VOICES_PATH,
}

_T0 = dt.datetime(2025, 3, 14, 9, 26, 53, 589000, tzinfo=dt.timezone.utc)
_NATIONALITIES = ["American", "British", "Canadian", "Irish", "Australian", "Ukrainian", "Scottish"]
_STYLES = ["neutral", "whisper", "energetic", "calm"]
_LOCALES = [("English (US)", "EN-US", "en-US"), ("English (UK)", "EN-GB", "en-GB"), ("Spanish", "ES", "es-ES")]


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _voice(rng: random.Random, i: int, *, rich: bool = False) -> Voice:
    """A catalogue voice; ``rich``: every accent and narration style (the 50 KB page of 25)."""
    name = f"Voice {i:03d} {rng.choice(['Aurora', 'Basil', 'Cedar', 'Delta', 'Ember', 'Flint'])}"
    accents = [
        Accent(
            id=_uuid(rng),
            info=AccentInfo(name=n, short_name=s, locale=loc),
            is_default=j == 0,
            native=j == 0,
            tiers=[Tier(name="basic"), Tier(name="pro")],
            available=True,
            settings=AccentSettings(favorite=False, semitones_correction=rng.choice([0.0, -2.0, 1.5])),
        )
        for j, (n, s, loc) in enumerate(_LOCALES if rich else _LOCALES[: rng.randint(1, 3)])
    ]
    styles = [
        NarrationStyle(
            id=_uuid(rng),
            info=NarrationStyleInfo(name=style),
            is_default=j == 0,
            settings=NarrationStyleSettings(favorite=j == 1),
        )
        for j, style in enumerate(_STYLES if rich else _STYLES[: rng.randint(1, 3)])
    ]
    slug = name.lower().replace(" ", "-")
    return Voice(
        id=_uuid(rng),
        name=name,
        owner_id=_uuid(rng),
        slug=slug,
        visibility="public",  # type: ignore[arg-type]
        species="human",  # type: ignore[arg-type]
        artist=f"Artist {i}",
        verified_artist=i % 3 == 0,
        gender=rng.choice(["male", "female"]),  # type: ignore[arg-type]
        pitch=round(rng.uniform(-6, 6), 2),
        age_group=rng.choice(["young", "adult", "senior"]),  # type: ignore[arg-type]
        pitch_group=rng.choice(["low", "mid", "high"]),  # type: ignore[arg-type]
        nationality=rng.choice(_NATIONALITIES),
        image_url=f"https://cdn.example.com/voices/{slug}/image.png",
        thumbnail_url=f"https://cdn.example.com/voices/{slug}/thumb.png",
        description=f"{name}: a warm, clear voice for narration, e-learning and games (sample {i}).",
        rating=rng.randint(0, 5),
        active=True,
        created_at=_T0 - dt.timedelta(days=i, seconds=rng.randint(0, 86400)),
        favorite=i % 7 == 0,
        available=True,
        accents=accents,
        narration_styles=styles,
        tiers=[Tier(name="basic"), Tier(name="pro")],
    )


def _recording(rng: random.Random, i: int, project_id: str) -> Recording:
    converted = i % 3 != 0
    rid = _uuid(rng)
    return Recording(
        id=rid,
        project_id=project_id,
        parent_folder_id=FOLDER_ID,
        type="converted" if converted else "original",  # type: ignore[arg-type]
        state="done",  # type: ignore[arg-type]
        url=f"https://storage.example.com/recordings/{rid}.wav?X-Amz-Expires=3600&X-Amz-Signature={rng.getrandbits(128):032x}",
        waveform_url=f"https://storage.example.com/waveforms/{rid}.json",
        file_name=f"take-{i:04d}.wav",
        label=f"Chapter {i // 10} take {i % 10}",
        original_id=_uuid(rng) if converted else None,
        model_id=_uuid(rng) if converted else None,
        model_name=f"Voice {i % 25:03d}" if converted else None,
        calibration_id=None,
        calibration_value=None,
        calibration_name=None,
        microphone="default",
        size=rng.randint(200_000, 5_000_000),
        duration=round(rng.uniform(2, 60), 3),
        starred=i % 11 == 0,
        tts=False,
        text=None,
        params={"semitones_correction": 0, "narration_style": "neutral"} if converted else None,
        active=True,
        created_at=_T0 + dt.timedelta(minutes=i),
        converted_at=_T0 + dt.timedelta(minutes=i, seconds=40) if converted else None,
        listen_count=rng.randint(0, 20),
        process_stage="done" if converted else None,
        note=NoteRef(id=_uuid(rng), text=f"note on take {i}", active=True) if i % 5 == 0 else None,
    )


def _full(obj: Any) -> Any:
    """A struct as builtins with every field, defaults included (the models omit them; the API does not)."""
    if isinstance(obj, msgspec.Struct):
        return {f.encode_name: _full(getattr(obj, f.name)) for f in msgspec.structs.fields(obj)}
    if isinstance(obj, list):
        return [_full(x) for x in obj]
    return obj


def canned_bodies() -> dict[str, bytes]:
    """The JSON bodies served, by endpoint name (deterministic)."""
    rng = random.Random(5)
    voices = [_voice(rng, i) for i in range(25)]
    project_id = _uuid(rng)
    recordings = [_recording(rng, i, project_id) for i in range(200)]
    single = msgspec.structs.replace(recordings[1], id=RECORDING_ID)
    rich = [_voice(random.Random(7 + i), i, rich=True) for i in range(25)]
    enc = msgspec.json.Encoder()
    return {
        "voices_page_25": enc.encode(_full(VoicePage(list=voices, pagination=Pagination(count=60, limit=25)))),
        "recordings_page_200": enc.encode(
            _full(RecordingPage(list=recordings, pagination=Pagination(count=1000, limit=200)))
        ),
        "recording": enc.encode(_full(single)),
        "voices_page_25_rich": enc.encode(_full(VoicePage(list=rich, pagination=Pagination(count=60, limit=25)))),
    }


def _response(body: bytes, status: str = "200 OK") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode() + body


class _Protocol(asyncio.Protocol):
    def __init__(self, routes: list[tuple[bytes, bytes]], not_found: bytes) -> None:
        self.routes = routes
        self.not_found = not_found
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        out = []
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            line_end = buf.find(b"\r\n")
            target = buf[:line_end].split(b" ", 2)[1]
            answer = self.not_found
            for prefix, resp in self.routes:
                if target.startswith(prefix):
                    answer = resp
                    break
            out.append(answer)
            buf = buf[end + 4 :]  # the benchmark clients send GETs without bodies
        self.buf = buf
        if out and self.transport is not None:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])


def _serve(port: int, ready: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    pin("server")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    bodies = canned_bodies()
    # First match wins: "/api/recordings/<id>" before "/api/recordings?...".
    routes = [
        (RICH_VOICES_PATH.encode(), _response(bodies["voices_page_25_rich"])),
        (b"/api/v2/voices", _response(bodies["voices_page_25"])),
        (b"/api/recordings/", _response(bodies["recording"])),
        (b"/api/recordings", _response(bodies["recordings_page_200"])),
    ]
    not_found = _response(b'{"detail":"Not Found"}', "404 Not Found")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Protocol(routes, not_found), "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class CannedServer:
    """``with CannedServer() as srv:`` a canned API at ``srv.base_url``, in another process."""

    def __init__(self, port: int = 0) -> None:
        from ._common import free_port

        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        ctx = mp.get_context("spawn")
        self._ready = ctx.Event()
        self.process = ctx.Process(target=_serve, args=(self.port, self._ready), daemon=True)

    def __enter__(self) -> CannedServer:
        self.process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the canned server did not start")
        wait_for_port(self.port)
        return self

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()

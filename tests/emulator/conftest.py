"""Helpers for the emulator's tests: WAV bytes, an api-key session, a project with a folder."""

from __future__ import annotations

import array
import math
import struct
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from voiceapi_async.emulator import Emulator, EmulatorConfig, ManualClock, RateLimitConfig
from voiceapi_async.emulator import pytest_plugin as _plugin


def wav_bytes(seconds: float = 1.0, freq: float = 200.0, rate: int = 8000, channels: int = 1) -> bytes:
    n = int(seconds * rate)
    mono = [int(8000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)]
    samples = array.array("h", [s for s in mono for _ in range(channels)])
    data = samples.tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def parse_wav(raw: bytes) -> dict[str, Any]:
    """Minimal RIFF walk: checks a WAV is valid and returns its format and data size."""
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE", raw[:12]
    assert struct.unpack("<I", raw[4:8])[0] == len(raw) - 8
    pos, out = 12, {}
    while pos < len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            af, ch, rate, brate, _, bits = struct.unpack("<HHIIHH", raw[pos + 8 : pos + 24])
            out.update(format=af, channels=ch, rate=rate, byte_rate=brate, bits=bits)
        elif cid == b"data":
            out["data"] = raw[pos + 8 : pos + 8 + size]
            out["duration"] = size / out["byte_rate"]
        pos += 8 + size + size % 2
    return out


def fast(**changes: Any) -> EmulatorConfig:
    return _plugin.fast_config(**changes)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
async def emu(clock: ManualClock) -> AsyncIterator[Emulator]:
    async with Emulator(fast(original_delay=1, conversion_delay=(2, 3), calibration_delay=1), clock=clock) as e:
        yield e


def session(emu: Emulator, user: int = 0, **kwargs: Any) -> aiohttp.ClientSession:
    headers = {"api-key": emu.users[user].api_key}
    return aiohttp.ClientSession(base_url=emu.base_url, headers=headers, **kwargs)


async def make_folder(s: aiohttp.ClientSession, name: str = "P") -> tuple[str, str]:
    me = await (await s.post("/api/auth")).json()
    r = await s.post("/api/projects", json={"name": name, "owner": me["id"], "models": {}})
    assert r.status == 200, await r.text()
    pid = (await r.json())["id"]
    r = await s.post("/api/folders", json={"name": "F", "project_id": pid})
    assert r.status == 200, await r.text()
    return pid, (await r.json())["id"]


async def upload(
    s: aiohttp.ClientSession,
    folder_id: str | None,
    data: bytes | None = None,
    *,
    filename: str = "take.wav",
    label: str | None = None,
    microphone: str | None = "file",
) -> aiohttp.ClientResponse:
    fd = aiohttp.FormData()
    if data is not None:
        fd.add_field("data", data, filename=filename, content_type="application/octet-stream")
    if folder_id is not None:
        fd.add_field("parent_folder_id", folder_id)
    if microphone is not None:
        fd.add_field("microphone", microphone)
    if label is not None:
        fd.add_field("label", label)
    return await s.post("/api/recordings", data=fd)


__all__ = ["RateLimitConfig", "fast", "make_folder", "parse_wav", "session", "upload", "wav_bytes"]

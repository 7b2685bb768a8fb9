"""The operations of the OpenAPI that the endpoint reference lacks: their emulator side and errors."""

from __future__ import annotations

import aiohttp
import pytest

from tests.emulator.conftest import fast, make_folder, session, upload, wav_bytes
from voiceapi_async import InvalidRequestError, NotFoundError, RateLimits, VoiceClient
from voiceapi_async.emulator import Emulator, ManualClock


async def test_health_needs_no_credentials() -> None:
    async with Emulator(fast()) as emu:
        async with aiohttp.ClientSession() as bare:
            r = await bare.get(emu.base_url + "/api/healtz")
            assert r.status == 200 and await r.json() == {"state": "OK"}
        async with VoiceClient(api_key="", base_url=emu.base_url) as anonymous:
            health = await anonymous.health()
            assert health.state == "OK" and health.ok
    assert emu.counters.snapshot()["requests_by_route"]["health"] == 2


async def test_narration_style_samples_and_their_files() -> None:
    async with Emulator(fast()) as emu, session(emu) as s:
        style = emu.store.catalogue.voices[0].narration_styles[0]
        r = await s.get("/api/v2/narration-styles/samples", params={"narration_style_id": style.id})
        samples = (await r.json())["samples"]
        audio = await s.get(next(iter(samples.values())))
        assert audio.status == 200 and (await audio.read())[:4] == b"RIFF"
        unknown = "00000000-0000-4000-8000-00000000beef"
        r = await s.get("/api/v2/narration-styles/samples", params={"narration_style_id": unknown})
        assert r.status == 404 and (await r.json())["detail"] == "Narration style not found"
        r = await s.get("/api/v2/narration-styles/samples", params={"narration_style_id": "nope"})
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["query", "narration_style_id"]
        r = await s.get("/api/v2/narration-styles/samples")
        assert r.status == 422


async def test_notes_of_a_folder(clock: ManualClock) -> None:
    async with Emulator(fast(), clock=clock) as emu, session(emu) as s, session(emu, user=1) as other:
        _, fid = await make_folder(s)
        ids = [(await (await upload(s, fid, wav_bytes(0.2))).json())["id"] for _ in range(3)]
        for rid, text in zip(ids[:2], ("one", "two"), strict=True):
            assert (await s.post("/api/notes", json={"recording_id": rid, "text": text})).status == 200
        notes = await (await s.get("/api/notes", params={"folder_id": fid})).json()
        assert sorted((n["recording_id"], n["text"]) for n in notes) == sorted(
            zip(ids[:2], ("one", "two"), strict=True)
        )
        await s.request("DELETE", "/api/notes", json={"recording_id": ids[0]})
        assert [n["text"] for n in await (await s.get("/api/notes", params={"folder_id": fid})).json()] == ["two"]
        # another user's folder is indistinguishable from a missing one
        assert (await other.get("/api/notes", params={"folder_id": fid})).status == 404
        assert (await s.get("/api/notes")).status == 422


async def test_calibration_rename(clock: ManualClock) -> None:
    async with Emulator(fast(), clock=clock) as emu:
        async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled()) as c:
            first = await c.calibrations.create("first", wav_bytes(0.2))
            await c.calibrations.create("second", wav_bytes(0.2))
            renamed = await c.calibrations.update(first.id, name="studio mic")
            assert renamed.name == "studio mic" and (await c.calibrations.get(first.id)).name == "studio mic"
            assert (await c.calibrations.update(first.id, name="studio mic")).name == "studio mic"  # same name: fine
            with pytest.raises(Exception, match="already exists"):
                await c.calibrations.update(first.id, name="second")
            with pytest.raises(InvalidRequestError, match="calibration name"):
                await c.calibrations.update(first.id, name="no/slashes")
            with pytest.raises(InvalidRequestError, match="at most 40"):
                await c.calibrations.update(first.id, name="x" * 41)
            with pytest.raises(NotFoundError):
                await c.calibrations.update("00000000-0000-4000-8000-00000000beef", name="ghost")
        async with session(emu) as s:
            r = await s.patch(f"/api/calibration/{first.id}", json={"name": "bad!"})
            assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "name"]
    assert emu.counters.snapshot()["requests_by_route"]["calibrations.rename"] == 5  # 3 + ghost + bad!

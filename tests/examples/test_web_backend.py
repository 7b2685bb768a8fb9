"""examples/web_backend.py against the emulator: concurrent requests share one client."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.examples._load import load_example
from tests.sdk.samples import wav_bytes
from voiceapi_async.emulator import Emulator


@pytest.mark.voiceapi_emulator(original_delay=0.02, conversion_delay=(0.05, 0.1))
async def test_web_backend_converts_concurrent_uploads(voiceapi_emulator: Emulator) -> None:
    example = load_example("web_backend")
    app = example.create_app(api_key=voiceapi_emulator.api_key, base_url=voiceapi_emulator.base_url)
    async with TestClient(TestServer(app)) as http:
        voice_name = "Aurora"  # the voice the example's docstring uses

        async def post(i: int) -> bytes:
            form = aiohttp.FormData()
            form.add_field("file", wav_bytes(8000 + i * 100), filename=f"take {i}.wav", content_type="audio/wav")
            response = await http.post("/convert", params={"voice": voice_name}, data=form)
            assert response.status == 200, await response.text()
            return await response.read()

        results = await asyncio.gather(*(post(i) for i in range(3)))
        assert all(r[:4] == b"RIFF" and r[8:12] == b"WAVE" for r in results)
        assert len(set(results)) == 3

        bad = aiohttp.FormData()
        bad.add_field("file", b"not audio at all", filename="x.txt")
        response = await http.post("/convert", params={"voice": voice_name}, data=bad)
        assert response.status == 400 and "not wav" in await response.text()
        response = await http.post(
            "/convert", params={"voice": "No Such Voice Anywhere"}, data=aiohttp.FormData({"file": "x"})
        )
        assert response.status == 404
    counters = voiceapi_emulator.counters.snapshot()
    assert counters["uploads_total"] == 3 and counters["orders_total"] == 3
    assert counters["projects_created"] == 1  # one client, one set-up, for the app's lifetime

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


@pytest.mark.voiceapi_emulator(original_delay=0.2, conversion_delay=(0.2, 0.3))
async def test_a_user_who_disconnects_does_not_lose_a_paid_conversion(voiceapi_emulator: Emulator) -> None:
    example = load_example("web_backend")
    app = example.create_app(api_key=voiceapi_emulator.api_key, base_url=voiceapi_emulator.base_url)
    server = TestServer(app, handler_cancellation=True)  # the handler is cancelled when the user leaves
    async with TestClient(server) as http:
        form = aiohttp.FormData()
        form.add_field("file", wav_bytes(8000), filename="take.wav", content_type="audio/wav")
        user = asyncio.create_task(http.post("/convert", params={"voice": "Aurora"}, data=form))
        for _ in range(1000):  # the upload is in and the paid part has started...
            if app[example.WORK]:
                break
            await asyncio.sleep(0.01)
        user.cancel()  # ...when the user closes the tab
        [work] = app[example.WORK]
        converted = await work  # it went on regardless
        assert converted.state == "done"
    counters = voiceapi_emulator.counters.snapshot()
    assert counters["orders_total"] == 1 and counters["conversions_created"] == 1

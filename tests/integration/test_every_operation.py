"""Every operation through the SDK, against the emulator answering in each legal way.

The 47 of the endpoint reference, plus POST /api/auth and the four of the OpenAPI users
need (narration-style samples, a folder's notes, calibration rename, health).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.answer_modes import MODE_PARAMS, apply_mode
from tests.sdk.samples import wav_bytes
from voiceapi_async import ConversionTarget, RateLimits, RecordingState, VoiceClient
from voiceapi_async.emulator import Emulator, EmulatorConfig


@pytest.fixture(params=MODE_PARAMS)
async def emu(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """The emulator answering in each legal way (optionals null or omitted, bare lists, one stats method)."""
    config = EmulatorConfig(original_delay=0.02, conversion_delay=(0.03, 0.05), calibration_delay=0.03)
    apply_mode(config, request.param)
    async with Emulator(config) as emulator:
        yield emulator


async def test_every_operation(emu: Emulator, tmp_path: Path) -> None:
    user = emu.users[0]
    async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled()) as c:
        me = await c.auth.me()
        assert me.email == user.email
        assert (await c.credits.get()).credits == emu.config.initial_credits

        project = await c.projects.create("Every op")
        assert (await c.projects.update(project.id, name="Every operation")).name == "Every operation"
        assert (await c.projects.get_by_url(project.url)).id == project.id
        assert [p.id async for p in c.projects.list()] == [project.id]
        assert (await c.projects.list(limit=10, sort="name", direction="asc")).pagination.count == 1

        folder = await c.folders.create(project.id, "Chapter")
        assert (await c.folders.get(folder.id)).name == "Chapter"
        assert (await c.folders.update(folder.id, name="Chapter 1")).name == "Chapter 1"
        assert [f.id for f in (await c.folders.list(project.id)).list] == [folder.id]

        original = await c.recordings.create(folder.id, wav_bytes(16000), label="take 1")
        original = await c.recordings.wait(original.id, interval=0.02)
        assert original.state is RecordingState.DONE
        assert (await c.recordings.get(original.id)).label == "take 1"
        assert (await c.recordings.update(original.id, starred=True)).starred is True
        assert (await c.recordings.replace(original.id, label="take one", starred=True)).label == "take one"
        assert [r.id for r in (await c.recordings.originals(folder.id)).list] == [original.id]

        voice = (await c.voices.list(limit=5, gender="female")).list[0]
        assert voice.id in {v.id for v in await c.voices.search(voice.name)}
        assert (await c.voices.favorite(voice.id)).favorite is True
        accent = voice.accents[0]
        tuned = await c.voices.settings(voice.id, accent_id=accent.id, semitones_correction=1.5)
        assert tuned.id == voice.id
        assert (await c.accents.samples(accent.id)).samples
        style = voice.narration_styles[0]
        style_samples = (await c.narration_styles.samples(style.id)).samples
        assert style_samples and all(isinstance(url, str) for url in style_samples.values())

        orders = await c.orders.create(original.id, [ConversionTarget(voice_id=voice.id, accent_id=accent.id)])
        conversion = await c.recordings.wait(orders[0].conversion_id, interval=0.02)
        assert conversion.state is RecordingState.DONE
        assert [r.id for r in (await c.recordings.conversions(original.id)).list] == [conversion.id]
        assert {r.id for r in (await c.recordings.list(folder_id=folder.id)).list} == {original.id, conversion.id}
        emu.config.conversion_error_rate = 1.0
        failing = (await c.orders.create(original.id, [ConversionTarget(voice_id=voice.id)]))[0]
        failed = await c.recordings.wait(failing.conversion_id, interval=0.02)
        assert failed.state is RecordingState.ERROR
        emu.config.conversion_error_rate = 0.0
        assert (await c.orders.retry(failed.id)).conversion_id == failed.id

        downloaded = await c.recordings.download(conversion, tmp_path)
        assert downloaded.path.read_bytes()[:4] == b"RIFF"
        exported = await c.recordings.export(original.id, tmp_path / "conversions.zip", starred_only=False)
        assert zipfile.is_zipfile(exported.path)
        project_zip = await c.projects.export(project.id, tmp_path, starred_only=True)
        assert zipfile.is_zipfile(project_zip.path)

        tts_voice = (await c.tts.voices())[0]
        spoken = await c.tts.create(folder.id, "Hello there. How are you?", label="greeting")
        assert spoken.tts is True
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            legacy = await c.tts.create_v1(project.id, folder.id, tts_voice.id, "Old style.", label="legacy")
        assert legacy.text == "Old style."

        assert (await c.notes.create(original.id, "keeper")).text == "keeper"
        assert (await c.notes.replace(original.id, "the keeper")).text == "the keeper"
        assert (await c.recordings.get(original.id)).note is not None
        assert [(n.recording_id, n.text) for n in await c.notes.list(folder.id)] == [(original.id, "the keeper")]
        assert (await c.notes.delete(original.id)).recording_id == original.id

        stats = await c.stats.get()
        assert stats.conversions.completed >= 1
        assert (await c.stats.projects([project.id]))[0].project_id == project.id
        assert (await c.stats.folders([folder.id]))[0].stats.total >= 2

        calibration = await c.calibrations.create("my voice", wav_bytes(16000))
        assert (await c.calibrations.get(calibration.id)).name == "my voice"
        assert (await c.calibrations.update(calibration.id, name="my own voice")).name == "my own voice"
        assert (await c.calibrations.wait(calibration.id, interval=0.02)).state == "calibrated"
        assert [x.id async for x in c.calibrations.list()] == [calibration.id]
        assert (await c.calibrations.list(limit=10)).pagination.count == 1
        assert (await c.calibrations.enable(calibration.id)).enabled is True
        await c.calibrations.set_auto()
        assert (await c.calibrations.delete(calibration.id)).id == calibration.id

        deleted = {d.id for d in await c.recordings.delete(spoken.id)}
        assert spoken.id in deleted
        assert folder.id in await c.folders.delete(folder.id)
        assert (await c.projects.delete(project.id)).id == project.id

        assert (await c.health()).ok
        await c.auth.login(user.email, user.password)
        assert (await c.auth.me()).id == me.id
        await c.auth.logout()
        new_key = await c.api_keys.create()
        async with VoiceClient(api_key=new_key.api_key, base_url=emu.base_url) as fresh:
            await fresh.api_keys.delete()

    routes = emu.counters.snapshot()["requests_by_route"]
    api_routes = {r for r in routes if not r.startswith("files.")}
    # 47 operations + POST /api/auth + the 4 of the OpenAPI only
    assert len(api_routes) == 52, sorted(api_routes)

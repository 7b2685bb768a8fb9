"""Streamed uploads, atomic downloads, exports and auto-pagination."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses

from tests.conftest import BASE, FakeTime
from tests.sdk.samples import FID, PID, RECORDING, RID, wav_bytes
from voiceapi_async import (
    APIConnectionError,
    AudioFormat,
    InvalidRequestError,
    Recording,
    VoiceClient,
    sniff_audio_format,
)
from voiceapi_async._downloads import safe_filename
from voiceapi_async._uploads import prepare_upload
from voiceapi_async.emulator import Emulator


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", AudioFormat.WAV),
        (b"OggS\x00\x02" + b"\x00" * 6, AudioFormat.OGG),
        (b"fLaC\x00\x00\x00\x22" + b"\x00" * 4, AudioFormat.FLAC),
        (b"ID3\x04\x00\x00" + b"\x00" * 6, AudioFormat.MP3),
        (b"\xff\xfb\x90\x64" + b"\x00" * 8, AudioFormat.MP3),
        (b"RIFF\x24\x00\x00\x00AVI LIST", None),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d", None),
        (b"", None),
    ],
)
def test_sniffing_by_content(head: bytes, fmt: AudioFormat | None) -> None:
    assert sniff_audio_format(head) is fmt


async def _drain(payload: Any) -> bytes:
    from tests.sdk.test_operations import _Sink

    sink = _Sink()
    await payload.write(sink)
    return bytes(sink.data)


def _aiohttp_form(
    boundary: str, fields: dict[str, str], data: bytes, filename: str, content_type: str
) -> aiohttp.MultipartWriter:
    """What aiohttp's ``MultipartWriter`` sends for the same form: the reference for our framing."""
    writer = aiohttp.MultipartWriter("form-data", boundary=boundary)
    for name, value in fields.items():
        writer.append(value).set_content_disposition("form-data", name=name)
    part = writer.append_payload(aiohttp.payload.BytesPayload(data, content_type=content_type))
    part.set_content_disposition("form-data", name="data", filename=filename)
    return writer


async def _form_bytes(body: aiohttp.payload.Payload) -> tuple[str, bytes]:
    kind, boundary = body.headers["Content-Type"].split("; boundary=")
    assert kind == "multipart/form-data"
    sent = await _drain(body)
    assert body.size is None or body.size == len(sent)  # the Content-Length is the body's length
    return boundary, sent


FIELDS = {"parent_folder_id": "0c5a5a5c-1111-4111-8111-111111111111", "microphone": "file", "label": "Take 1 - ok"}


@pytest.mark.parametrize("name", ["take.wav", "t~a_k-e.1.wav", 'Été "2" [final] 100%.wav', "a;b=c.wav"])
@pytest.mark.parametrize("source", ["bytes", "small path", "small str", "large path", "stream"])
async def test_the_form_is_byte_for_byte_what_aiohttp_multipart_writer_sends(
    tmp_path: Path, name: str, source: str
) -> None:
    data = wav_bytes(200_000 if source == "large path" else 300)  # ~400 KB: over CHUNK_SIZE, streamed
    path = tmp_path / "in.wav"
    path.write_bytes(data)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 100):
            yield data[i : i + 100]

    sources = {"bytes": data, "small path": path, "small str": f"{path}/", "large path": path, "stream": chunks()}
    audio: Any = sources[source]
    upload = await prepare_upload(audio, filename=name)
    body = upload.form({**FIELDS, "omitted": None})()
    assert (body.size is None) is (source == "stream")  # chunked only when the length is unknown
    boundary, sent = await _form_bytes(body)
    reference = _aiohttp_form(boundary, FIELDS, data, upload.filename, "audio/wav")
    assert sent == await _drain(reference)


@pytest.mark.parametrize(
    "name", ["take.wav", "take", ".hidden", "a.", "..", ".", "...", "a.b.c", "x/y.mp3", "x/", "a/.", "C:x.wav", ""]
)
def test_the_uploaded_file_name_is_the_stem_with_the_real_format(name: str) -> None:
    from voiceapi_async._uploads import _with_extension

    assert _with_extension(name, AudioFormat.WAV) == f"{Path(name).stem or 'audio'}.wav"


async def test_a_path_is_streamed_in_chunks_and_reopened_per_attempt(tmp_path: Path) -> None:
    big = wav_bytes(2_000_000)  # ~4 MB: many chunks
    path = tmp_path / "big.wav"
    path.write_bytes(big)
    upload = await prepare_upload(path)
    assert upload.size == len(big) and upload.filename == "big.wav" and upload.reusable
    form = upload.form({"label": "big"})
    first, second = form(), form()
    assert first.size is not None and first.size > len(big)
    sent_first, sent_second = (await _form_bytes(first))[1], (await _form_bytes(second))[1]
    assert big in sent_first and big in sent_second


async def test_an_async_stream_is_sniffed_and_sent_once() -> None:
    data = wav_bytes(1000)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 7):
            yield data[i : i + 7]

    upload = await prepare_upload(chunks(), filename="live")
    assert upload.format is AudioFormat.WAV and upload.filename == "live.wav" and upload.size is None
    form = upload.form({})
    assert data in (await _form_bytes(form()))[1]
    with pytest.raises(InvalidRequestError, match="only once"):
        form()


async def test_upload_from_an_async_stream(client: VoiceClient, mocked: aioresponses) -> None:
    data = wav_bytes(500)

    async def chunks() -> AsyncIterator[bytes]:
        yield data[:5]
        yield data[5:]

    seen: list[bytes] = []

    async def capture(url: Any, **kwargs: Any) -> CallbackResult:
        from tests.sdk.test_operations import _render

        seen.append(await _render(kwargs["data"]))
        return CallbackResult(payload=RECORDING)

    mocked.post(f"{BASE}/api/recordings", callback=capture)
    await client.recordings.create(FID, chunks())
    assert data in seen[0]


def _file_answer(mocked: aioresponses, url: str, body: bytes, **kw: Any) -> None:
    mocked.get(re.compile("^" + re.escape(url) + r"(\?.*)?$"), body=body, content_type="audio/wav", **kw)


async def test_download_to_a_file_and_into_a_directory(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path
) -> None:
    audio = wav_bytes(3000)
    recording = Recording(**{**RECORDING, "type": "converted", "state": "done"})  # type: ignore[arg-type]
    _file_answer(mocked, BASE + RECORDING["url"], audio, repeat=True)
    result = await client.recordings.download(recording, tmp_path / "out" / "a.wav")
    assert result.path.read_bytes() == audio and result.size == len(audio)
    into = await client.recordings.download(recording, tmp_path)
    assert into.path == tmp_path / "take.wav"
    assert list(tmp_path.glob("**/*.part")) == []


def _spy_on_disk_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Record each ``os.fsync``/``os.replace`` and whether it ran on the event loop's thread."""
    calls: list[tuple[str, bool]] = []
    loop_thread = threading.get_ident()
    for name in ("fsync", "replace"):
        original = getattr(os, name)

        def spy(*args: Any, _name: str = name, _original: Any = original) -> Any:
            calls.append((_name, threading.get_ident() == loop_thread))
            return _original(*args)

        monkeypatch.setattr(os, name, spy)
    return calls


async def test_a_small_download_is_written_fsynced_and_renamed_off_the_event_loop(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio = wav_bytes(3000)
    _file_answer(mocked, BASE + RECORDING["url"], audio)
    calls = _spy_on_disk_calls(monkeypatch)
    result = await client.recordings.download(RECORDING["url"], tmp_path / "new" / "a.wav")
    assert result.path.read_bytes() == audio and result.size == len(audio)
    assert calls == [("fsync", False), ("replace", False)]
    assert list(tmp_path.glob("**/*.part")) == []


async def test_a_small_file_takes_one_thread_hop_up_and_one_down(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hops B6 pays per file: one read for the upload, one write + fsync + rename for the download."""
    from voiceapi_async import _downloads, _uploads

    hops: list[str] = []
    for module in (_uploads, _downloads):
        run_blocking = module.run_blocking

        def counting(fn: Any, *args: Any, _run: Any = run_blocking) -> Any:
            hops.append(fn.__name__)
            return _run(fn, *args)

        monkeypatch.setattr(module, "run_blocking", counting)
    audio = wav_bytes(3000)
    (tmp_path / "in.wav").write_bytes(audio)
    _file_answer(mocked, BASE + RECORDING["url"], audio, repeat=True)
    mocked.post(f"{BASE}/api/recordings", payload=RECORDING, repeat=True)
    await client.recordings.create(FID, tmp_path / "in.wav")
    assert hops == ["_probe"]
    await client.recordings.download(RECORDING["url"], tmp_path / "out" / "a.wav")
    assert hops == ["_probe", "_make_folder", "_write_whole"]  # a new folder is checked before the request
    hops.clear()
    for name in ("b.wav", "c.wav"):
        await client.recordings.create(FID, str(tmp_path / "in.wav"))
        await client.recordings.download(RECORDING["url"], tmp_path / "out" / name)
    assert hops == ["_probe", "_write_whole"] * 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.wav", "c.wav"]


async def test_a_large_download_is_streamed_and_fsynced_off_the_event_loop(
    voiceapi_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio = wav_bytes(1_500_000)  # ~3 MB: many chunks, on disk on the emulator's side too
    async with VoiceClient(api_key=voiceapi_emulator.api_key, base_url=voiceapi_emulator.base_url) as client:
        project = await client.projects.create("downloads")
        folder = await client.folders.create(project.id, "f")
        original = await client.recordings.create(folder.id, audio, label="big")
        calls = _spy_on_disk_calls(monkeypatch)
        result = await client.recordings.download(original, tmp_path / "big.wav")
    assert result.path.read_bytes() == audio and result.size == len(audio)
    assert calls == [("fsync", False), ("replace", False)]
    assert list(tmp_path.glob("**/*.part")) == []


async def test_a_broken_download_leaves_no_file_under_the_final_name(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path
) -> None:
    url = BASE + RECORDING["url"]
    mocked.get(url, exception=aiohttp.ClientPayloadError("connection lost mid-body"), repeat=True)
    target = tmp_path / "a.wav"
    with pytest.raises(APIConnectionError, match="ClientPayloadError"):
        await client.with_options(max_retries=1).recordings.download(RECORDING["url"], target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("announced", [3_000, 600_000])  # read at once / streamed in chunks
async def test_a_body_shorter_than_announced_is_retried_and_never_lands(
    tmp_path: Path, fake_time: FakeTime, announced: int
) -> None:
    import asyncio

    answered = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        await reader.readuntil(b"\r\n\r\n")
        answered += 1
        head = f"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {announced}\r\n\r\n"
        writer.write(head.encode() + b"\0" * (announced // 2))  # half the body, then the connection drops
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        base = f"http://127.0.0.1:{port}"
        async with VoiceClient(api_key="k" * 32, base_url=base, max_retries=1, _sleep=fake_time.sleep) as client:
            with pytest.raises(APIConnectionError):
                await client.recordings.download("/files/a.wav", tmp_path / "a.wav")
    finally:
        server.close()
        await server.wait_closed()
    assert answered == 2  # retried once from the start, like any GET
    assert list(tmp_path.iterdir()) == []  # nothing under the final name, no partial left


async def test_download_requires_a_url(client: VoiceClient) -> None:
    processing = Recording(id=RID, project_id=PID, type="converted", state="processing")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="no url yet"):
        await client.recordings.download(processing, "x.wav")


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\evil.zip", "evil.zip"),
        ("/abs/path.zip", "path.zip"),
        ("..", "fallback.zip"),
        ("ok name.zip", "ok name.zip"),
        ("bad\x00name?.zip", "bad_name_.zip"),
        (None, "fallback.zip"),
    ],
)
def test_server_file_names_cannot_escape(name: str | None, safe: str) -> None:
    assert safe_filename(name, "fallback.zip") == safe


async def test_exports_stream_to_the_server_named_file(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path
) -> None:
    zip_bytes = b"PK\x03\x04" + b"\x00" * 100
    headers = {"Content-Disposition": 'attachment; filename="../../project export.zip"'}
    mocked.get(
        re.compile(re.escape(f"{BASE}/api/projects/{PID}/export") + r"\?starred_only=true$"),
        body=zip_bytes,
        headers=headers,
        content_type="application/zip",
    )
    result = await client.projects.export(PID, tmp_path, starred_only=True)
    assert result.path == tmp_path / "project export.zip"
    assert result.path.read_bytes() == zip_bytes
    mocked.get(
        re.compile(re.escape(f"{BASE}/api/recordings/export") + r"\?original_id=" + RID + "&starred_only=false$"),
        body=zip_bytes,
        content_type="application/zip",
    )
    result = await client.recordings.export(RID, tmp_path / "conv.zip")
    assert result.path.read_bytes() == zip_bytes


HEADER_ONLY_WAV = wav_bytes(0)  # 44 bytes: RIFF, fmt and a data chunk header, no samples


@pytest.mark.parametrize(
    ("audio", "problem"),
    [
        (HEADER_ONLY_WAV, "WAV: no audio data after the header"),
        (b"RIFF\x08\x00\x00\x00WAVEfmt ", "WAV: no data chunk"),  # the 16-byte header-only WAV
        (b"fLaC\x80\x00\x00\x22" + b"\x00" * 34, "FLAC: no audio frames after the header"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10, "MP3: no audio frames after the ID3 tag"),
    ],
)
async def test_audio_with_no_data_is_refused_before_any_request(
    client: VoiceClient, mocked: aioresponses, tmp_path: Path, audio: bytes, problem: str
) -> None:
    path = tmp_path / "take.audio"
    path.write_bytes(audio)

    async def one_stream() -> AsyncIterator[bytes]:
        yield audio

    for source in (audio, path, one_stream()):
        with pytest.raises(InvalidRequestError, match=f"holds no audio \\({problem}"):
            await client.recordings.create(FID, source)
        with pytest.raises(InvalidRequestError, match="holds no audio"):
            await client.calibrations.create("studio", audio)
    assert not mocked.requests


def test_the_job_orchestrator_refuses_the_same_files(tmp_path: Path) -> None:
    from voiceapi_async.jobs._audioinfo import CorruptAudioError, probe_audio

    path = tmp_path / "header-only.wav"
    path.write_bytes(HEADER_ONLY_WAV)
    with pytest.raises(CorruptAudioError, match="corrupt WAV: no audio data after the header"):
        probe_audio(path)
    path.write_bytes(wav_bytes(10))
    assert probe_audio(path).duration == pytest.approx(10 / 16000, abs=1e-3)


async def test_a_large_header_does_not_hide_the_audio(tmp_path: Path) -> None:
    import struct

    audio = wav_bytes(2000)
    padded = audio[:12] + b"LIST" + struct.pack("<I", 6000) + b"\x00" * 6000 + audio[12:]  # data beyond the head
    padded = padded[:4] + struct.pack("<I", len(padded) - 8) + padded[8:]
    assert (await prepare_upload(padded)).size == len(padded)
    path = tmp_path / "padded.wav"
    path.write_bytes(padded)
    assert (await prepare_upload(path)).size == len(padded)

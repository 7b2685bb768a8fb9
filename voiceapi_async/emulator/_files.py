"""Serving audio from disk, generating converted/TTS audio lazily, and building export zips."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import zipfile
from collections.abc import Callable

from aiohttp import web

from voiceapi_async._models import RecordingType

from ._audio import (
    CONTENT_TYPES,
    render_conversion,
    render_wav_bytes,
    write_tone_wav,
    write_tts_wav,
    write_waveform,
)
from ._http import ApiError
from ._store import RecRec, Store
from ._upload import write_file

__all__ = ["audio_in_memory", "build_zip", "ensure_audio", "ensure_waveform", "send_file", "send_sample"]

_KEEP_EXPORTS = 8
#: Conversions of WAVs kept in memory up to this size are rendered on the event loop: the pitch shift
#: is pure Python, so its cost grows with the samples (about 0.05 ms for B6's 76-byte files, 8 ms for
#: 8 KiB on a busy machine); larger ones are rendered to a file in a worker thread.
INLINE_RENDER = 2 << 10


def send_file(path: str, content_type: str, attachment: str | None = None) -> web.FileResponse:
    """A streamed file answer (sendfile when possible) with its real type and length."""
    headers = {"Content-Type": content_type}
    if attachment is not None:
        headers["Content-Disposition"] = f'attachment; filename="{attachment}"'
    return web.FileResponse(path, chunk_size=1 << 18, headers=headers)


async def _once(store: Store, key: str, path: str, make: Callable[[], None]) -> str:
    """Run the blocking ``make()`` in a thread at most once per ``key`` (concurrent callers wait)."""
    if os.path.exists(path):  # noqa: ASYNC240 - a stat of a local file
        return path
    fut = store.inflight.get(key)
    if fut is None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        store.inflight[key] = fut
        try:
            await asyncio.to_thread(make)
            fut.set_result(path)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters, if any, re-raise it
            raise
        finally:
            store.inflight.pop(key, None)
        return path
    return await asyncio.shield(fut)


async def ensure_audio(store: Store, rec: RecRec) -> str:
    """The path of the recording's audio, generating TTS and converted audio on first use."""
    model = rec.model
    if rec.path is not None and os.path.exists(rec.path):  # noqa: ASYNC240
        return rec.path
    if rec.data is not None:  # a small upload kept in memory: written on first use
        data, path = rec.data, store.path_for(f"{model.id}.{rec.fmt}")
        await _once(store, model.id, path, lambda: write_file(path, data))
        store.forget_data(rec)
        rec.path = path
        return path
    path = store.path_for(f"{model.id}.wav")
    if model.type == RecordingType.CONVERTED:
        original = store.recordings.get(model.original_id or "")
        if original is None:
            raise ApiError(404, "File not found")
        cap = store.config.convert_max_bytes
        # render from memory when the upload was kept there: no file for the original needed
        src = original.data if original.data is not None else await ensure_audio(store, original)

        def make() -> None:
            render_conversion(
                src, original.fmt, path, semitones=rec.semitones, tag=rec.tag, duration=model.duration, max_bytes=cap
            )

        await _once(store, model.id, path, make)
    elif model.tts:
        text = model.text or ""
        await _once(store, model.id, path, lambda: write_tts_wav(path, text))
    else:
        raise ApiError(404, "File not found")
    rec.path = path
    return path


def audio_in_memory(store: Store, rec: RecRec) -> bytes | None:
    """The recording's audio if it is held in memory, or cheap to make there; else ``None`` (use ``ensure_audio``).

    A small upload is kept in memory (``RecRec.data``); the conversion of a tiny WAV kept
    so (up to ``INLINE_RENDER`` bytes) is rendered on the spot and kept too: no file, no thread.
    """
    if rec.data is not None:
        return rec.data
    model = rec.model
    if rec.path is not None or model.type != RecordingType.CONVERTED:
        return None
    original = store.recordings.get(model.original_id or "")
    src = original.data if original is not None else None
    if original is None or src is None or original.fmt != "wav" or len(src) > INLINE_RENDER:
        return None
    data = render_wav_bytes(src, semitones=rec.semitones, tag=rec.tag, max_bytes=store.config.convert_max_bytes)
    if data is not None:
        store.keep_data(rec, data)
    return data


async def ensure_waveform(store: Store, rec: RecRec) -> str:
    src = await ensure_audio(store, rec)
    path = store.path_for(f"{rec.model.id}.waveform.json")
    fmt = "wav" if rec.model.type == RecordingType.CONVERTED or rec.model.tts else rec.fmt
    await _once(store, path, path, lambda: write_waveform(src, fmt, path))
    return path


async def send_sample(store: Store, accent_id: str, name: str) -> web.FileResponse:
    """Accent samples are short tones, pitched by the accent, generated once."""
    path = store.path_for(f"sample-{accent_id}-{name}")
    freq = 180 + int(accent_id.replace("-", "")[:4], 16) % 200
    await _once(store, path, path, lambda: write_tone_wav(path, [(freq, 0.5), (freq * 1.25, 0.5)], tag="sample"))
    return send_file(path, CONTENT_TYPES["wav"])


async def build_zip(store: Store, entries: list[tuple[str, str]], stem: str) -> web.FileResponse:
    """A real zip (stored, not compressed: audio does not shrink) written in a thread, then streamed.

    The last few export files are kept on disk (a client may retry the download); older
    ones are removed.
    """
    path = store.path_for(f"export-{secrets.token_hex(6)}.zip")

    def make() -> None:
        with zipfile.ZipFile(path + ".part", "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            seen: set[str] = set()
            for src, arcname in entries:
                name, n = arcname, 1
                while name in seen:
                    n += 1
                    base, dot, ext = arcname.rpartition(".")
                    name = f"{base} ({n}).{ext}" if dot else f"{arcname} ({n})"
                seen.add(name)
                zf.write(src, name)
        os.replace(path + ".part", path)

    await asyncio.to_thread(make)
    store.recent_exports.append(path)
    while len(store.recent_exports) > _KEEP_EXPORTS:
        old = store.recent_exports.popleft()
        with contextlib.suppress(OSError):
            os.unlink(old)
    return send_file(path, "application/zip", attachment=f"{stem}.zip")

"""Local validation of audio files: format by content, duration from the headers.

Blocking (plain file reads of a few KiB); callers run it in a worker thread.  WAV and
FLAC durations are exact, OGG's comes from the last page's granule position, and MP3's
from ``mutagen`` (every MPEG version and layer, the Xing/VBRI frame count of VBR files;
a first-frame bitrate guess was 37 % short for 16 kHz MPEG-2 files).  Nothing here
reads a whole file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

from .._uploads import AUDIO_HEAD_BYTES, AudioFormat, audio_without_data, sniff_audio_format

__all__ = ["AudioInfo", "CorruptAudioError", "probe_audio"]

_MAX_CHUNKS = 64


class CorruptAudioError(ValueError):
    """The file announces a format but its header is broken."""


@dataclass(frozen=True)
class AudioInfo:
    format: AudioFormat
    size: int
    duration: float | None


def probe_audio(path: str | os.PathLike[str], *, max_size: int | None = None) -> AudioInfo:
    """Check a file as the server would and read its duration.

    Raises ``OSError`` (unreadable), ``ValueError`` (empty, too large, not audio) or
    ``CorruptAudioError``; the message is the item's failure reason.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise ValueError("empty file")
        if max_size is not None and size > max_size:
            raise ValueError(f"file is {size} bytes; the limit is {max_size}")
        head = f.read(AUDIO_HEAD_BYTES)
        fmt = sniff_audio_format(head[:12])
        if fmt is None:
            raise ValueError("not wav, ogg, mp3 or flac audio (judged by content)")
        problem = audio_without_data(head, size)  # the check uploads make too
        if problem is not None:
            raise CorruptAudioError(f"corrupt {fmt.name}: {problem}")
        if fmt is AudioFormat.WAV:
            duration: float | None = _wav_duration(f, size)
        elif fmt is AudioFormat.FLAC:
            duration = _flac_duration(head)
        elif fmt is AudioFormat.OGG:
            duration = _ogg_duration(f, head, size)
        else:
            duration = _mp3_duration(f)
    return AudioInfo(fmt, size, duration)


def _wav_duration(f: BinaryIO, size: int) -> float:
    f.seek(12)
    byte_rate = 0
    for _ in range(_MAX_CHUNKS):
        header = f.read(8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk_id == b"fmt ":
            body = f.read(chunk_size)
            if len(body) < 16:
                raise CorruptAudioError("corrupt WAV: short fmt chunk")
            _fmt, channels, rate, byte_rate, _align, _bits = struct.unpack("<HHIIHH", body[:16])
            if not channels or not rate or not byte_rate:
                raise CorruptAudioError("corrupt WAV: zero channels, rate or byte rate")
            if chunk_size % 2:
                f.seek(1, os.SEEK_CUR)
        elif chunk_id == b"data":
            if not byte_rate:
                raise CorruptAudioError("corrupt WAV: data before fmt")
            available = size - f.tell()  # > 0: audio_without_data refused a header-only file
            return round(min(int(chunk_size), available) / float(byte_rate), 3)
        else:
            f.seek(chunk_size + (chunk_size % 2), os.SEEK_CUR)
    raise CorruptAudioError("corrupt WAV: no fmt/data chunks")


def _flac_duration(head: bytes) -> float:
    # "fLaC", then the STREAMINFO block: 4-byte header, 34 bytes of body.
    if len(head) < 42 or head[4] & 0x7F != 0:
        raise CorruptAudioError("corrupt FLAC: no STREAMINFO block")
    packed = int.from_bytes(head[18:26], "big")
    rate, total = packed >> 44, packed & ((1 << 36) - 1)
    if not rate:
        raise CorruptAudioError("corrupt FLAC: zero sample rate")
    return round(total / rate, 3)


def _ogg_duration(f: BinaryIO, head: bytes, size: int) -> float | None:
    f.seek(0)
    first = f.read(4096)
    rate = 48000 if b"OpusHead" in first else 0
    i = first.find(b"\x01vorbis")
    if i >= 0 and len(first) >= i + 16:
        rate = int.from_bytes(first[i + 12 : i + 16], "little")
    if not rate:
        return None
    f.seek(max(0, size - 65536))
    tail = f.read()
    j = tail.rfind(b"OggS")
    if j < 0 or len(tail) < j + 14:
        return None
    return round(int.from_bytes(tail[j + 6 : j + 14], "little") / rate, 3)


def _mp3_duration(f: BinaryIO) -> float | None:
    """The duration ``mutagen`` reads from the MPEG headers; ``None`` when it finds no audio frame."""
    from mutagen import MutagenError  # imported on the first MP3: other batches do not pay for it
    from mutagen.mp3 import MP3

    f.seek(0)
    try:
        audio: Any = MP3(f)  # type: ignore[no-untyped-call]  # mutagen's MP3 is not annotated
        length = float(audio.info.length)
    except (MutagenError, EOFError, struct.error):
        return None
    return round(length, 3) if length > 0 else None

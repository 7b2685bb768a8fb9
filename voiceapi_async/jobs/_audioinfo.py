"""Local validation of audio files: format by content, duration from the headers.

Blocking (plain file reads of a few KiB); callers run it in a worker thread.  WAV and
FLAC durations are exact; OGG (last page granule) and MP3 (first frame bitrate) are
estimates, good enough for a cost plan.  Nothing here reads a whole file.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from .._uploads import AUDIO_HEAD_BYTES, AudioFormat, audio_without_data, sniff_audio_format

__all__ = ["AudioInfo", "CorruptAudioError", "probe_audio"]

_MP3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
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
            duration = _mp3_duration(f, head, size)
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


def _mp3_duration(f: BinaryIO, head: bytes, size: int) -> float | None:
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
    f.seek(start)
    frame = f.read(4)
    if len(frame) < 4 or frame[0] != 0xFF or frame[1] & 0xE0 != 0xE0:
        return None
    kbps = _MP3_KBPS[frame[2] >> 4]
    return round((size - start) * 8 / (kbps * 1000), 3) if kbps else None

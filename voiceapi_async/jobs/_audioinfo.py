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
from collections.abc import Callable
from typing import Any, BinaryIO

import msgspec

from .._uploads import AUDIO_HEAD_BYTES, READ_FLAGS, AudioFormat, audio_without_data, read_upto, sniff_audio_format

__all__ = ["AudioInfo", "CorruptAudioError", "probe_audio"]

_MAX_CHUNKS = 64
_FMT = struct.Struct("<HHIIHH")


class CorruptAudioError(ValueError):
    """The file announces a format but its header is broken."""


class AudioInfo(msgspec.Struct, frozen=True, gc=False):
    format: AudioFormat
    size: int
    duration: float | None


def probe_audio(path: str | os.PathLike[str], *, max_size: int | None = None) -> AudioInfo:
    """Check a file as the server would and read its duration.

    Raises ``OSError`` (unreadable), ``ValueError`` (empty, too large, not audio) or
    ``CorruptAudioError``; the message is the item's failure reason.

    Three system calls for a small file (``open``, ``read``, ``close``; ``open()`` would
    make five more): the head is read first, and a head shorter than asked for is the
    whole file, so its length is the size; a longer file is ``fstat``'ed.  The head serves
    the format, the check, and a WAV's or FLAC's duration (the WAV's chunk walk reads the
    file only past the head); OGG and MP3 read the file.
    """
    fd = os.open(path, READ_FLAGS)
    try:
        try:
            head = read_upto(fd, AUDIO_HEAD_BYTES)
        except IsADirectoryError as exc:  # raised as open() raises it: with the path
            raise IsADirectoryError(exc.errno, exc.strerror, os.fspath(path)) from None
        size = len(head) if len(head) < AUDIO_HEAD_BYTES else os.fstat(fd).st_size
        if size == 0:
            raise ValueError("empty file")
        if max_size is not None and size > max_size:
            raise ValueError(f"file is {size} bytes; the limit is {max_size}")
        fmt = sniff_audio_format(head[:12])
        if fmt is None:
            raise ValueError("not wav, ogg, mp3 or flac audio (judged by content)")
        problem = audio_without_data(head, size, fmt)  # the check uploads make too
        if problem is not None:
            raise CorruptAudioError(f"corrupt {fmt.name}: {problem}")
        if fmt is AudioFormat.FLAC:
            duration: float | None = _flac_duration(head)
        elif fmt is AudioFormat.WAV:
            duration = _wav_duration(_head_first(fd, head, size), size)
        else:
            with open(fd, "rb", closefd=False) as f:
                duration = _ogg_duration(f, head, size) if fmt is AudioFormat.OGG else _mp3_duration(f)
    finally:
        os.close(fd)
    return AudioInfo(fmt, size, duration)


Read = Callable[[int, int], bytes]


def _head_first(fd: int, head: bytes, size: int) -> Read:
    """``read(pos, n)``: the file's bytes at ``pos``, from ``head`` while it holds them, else from the file.

    Never more than the file holds from ``pos`` (a chunk's size may lie), so fewer at its end.
    """

    def read(pos: int, n: int) -> bytes:
        n = min(n, size - pos)
        if n <= 0:
            return b""
        if pos + n <= len(head):
            return head[pos : pos + n]
        os.lseek(fd, pos, os.SEEK_SET)
        return read_upto(fd, n)

    return read


def _wav_duration(read: Read, size: int) -> float:
    """A WAV's duration from its ``fmt `` and ``data`` chunks, walked from the first; ``read`` as ``_head_first``'s."""
    pos = 12
    byte_rate = 0
    for _ in range(_MAX_CHUNKS):
        header = read(pos, 8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
        pos += 8
        if chunk_id == b"fmt ":
            body = read(pos, chunk_size)
            if len(body) < 16:
                raise CorruptAudioError("corrupt WAV: short fmt chunk")
            _fmt, channels, rate, byte_rate, _align, _bits = _FMT.unpack_from(body)
            if not channels or not rate or not byte_rate:
                raise CorruptAudioError("corrupt WAV: zero channels, rate or byte rate")
            pos += len(body) + chunk_size % 2
        elif chunk_id == b"data":
            if not byte_rate:
                raise CorruptAudioError("corrupt WAV: data before fmt")
            available = size - pos  # > 0: audio_without_data refused a header-only file
            return round(min(chunk_size, available) / float(byte_rate), 3)
        else:
            pos += chunk_size + chunk_size % 2
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

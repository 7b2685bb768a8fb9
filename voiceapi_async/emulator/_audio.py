"""Audio just real enough for a client to check: format sniffing, durations, and WAV synthesis.

Everything is pure Python (``array`` and ``struct``) and bounded in cost, because the
emulator must never be the bottleneck of a benchmark.  Blocking functions here are
run in a worker thread by the handlers.
"""

from __future__ import annotations

import io
import itertools
import math
import os
import struct
import zlib
from array import array
from typing import BinaryIO

import msgspec

__all__ = [
    "CONTENT_TYPES",
    "WavInfo",
    "estimate_f0",
    "probe_duration",
    "render_conversion",
    "render_wav_bytes",
    "sniff",
    "tts_duration",
    "write_tone_wav",
    "write_tts_wav",
    "write_waveform",
]

CONTENT_TYPES = {
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
}
_OUT_RATE = 8000
_MP3_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)


def sniff(head: bytes) -> str | None:
    """The audio format from the first bytes (at least 12), or ``None`` if not audio we accept."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


class WavInfo(msgspec.Struct, frozen=True):
    audio_format: int
    channels: int
    sample_rate: int
    byte_rate: int
    bits: int
    data_offset: int
    data_size: int


def read_wav_info(f: BinaryIO, file_size: int) -> WavInfo | None:
    """Walk the RIFF chunks up to ``data``; ``None`` if malformed."""
    f.seek(12)
    fmt: tuple[int, int, int, int, int] | None = None
    while True:
        hdr = f.read(8)
        if len(hdr) < 8:
            return None
        cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
        if cid == b"fmt ":
            body = f.read(size)
            if len(body) < 16:
                return None
            af, ch, rate, brate, _align, bits = struct.unpack("<HHIIHH", body[:16])
            fmt = (af, ch, rate, brate, bits)
            if size % 2:
                f.seek(1, os.SEEK_CUR)
        elif cid == b"data":
            if fmt is None or fmt[3] <= 0 or fmt[1] <= 0:
                return None
            offset = f.tell()
            if size in (0, 0xFFFFFFFF) or offset + size > file_size:
                size = file_size - offset
            return WavInfo(fmt[0], fmt[1], fmt[2], fmt[3], fmt[4], offset, size)
        else:
            f.seek(size + (size % 2), os.SEEK_CUR)


def probe_duration(path: str, fmt: str) -> float:
    """Seconds of audio, read from the headers (mp3 and ogg are estimates)."""
    with open(path, "rb") as f:
        return probe_duration_of(f, os.fstat(f.fileno()).st_size, fmt)


def probe_duration_of(f: BinaryIO, size: int, fmt: str) -> float:
    """``probe_duration`` of an open file (or ``io.BytesIO``) of ``size`` bytes."""
    head = f.read(4096)
    try:
        if fmt == "wav":
            info = read_wav_info(f, size)
            if info is not None:
                return round(info.data_size / info.byte_rate, 3)
        elif fmt == "flac" and len(head) >= 26:
            packed = int.from_bytes(head[18:26], "big")
            rate, total = packed >> 44, packed & ((1 << 36) - 1)
            if rate:
                return round(total / rate, 3)
        elif fmt == "ogg":
            rate = 48000 if b"OpusHead" in head else 0
            i = head.find(b"\x01vorbis")
            if i >= 0 and len(head) >= i + 16:
                rate = int.from_bytes(head[i + 12 : i + 16], "little")
            f.seek(max(0, size - 65536))
            tail = f.read()
            j = tail.rfind(b"OggS")
            if rate and j >= 0 and len(tail) >= j + 14:
                return round(int.from_bytes(tail[j + 6 : j + 14], "little") / rate, 3)
        elif fmt == "mp3":
            start = 0
            if head[:3] == b"ID3" and len(head) >= 10:
                start = 10 + ((head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9])
            f.seek(start)
            frame = f.read(4)
            kbps = 128
            if len(frame) == 4 and frame[0] == 0xFF and frame[1] & 0xE0 == 0xE0:
                kbps = _MP3_KBPS[frame[2] >> 4] or 128
            return round((size - start) * 8 / (kbps * 1000), 3)
    except (struct.error, OSError, ValueError):
        pass
    return round(size / 32000, 3)


def estimate_f0(path: str, fmt: str, fallback: float) -> float:
    """A plausible f0 in Hz: zero-crossing rate of the first second of 16-bit WAV, else ``fallback``."""
    if fmt != "wav":
        return fallback
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        info = read_wav_info(f, size)
        if info is None or info.bits != 16 or info.audio_format != 1:
            return fallback
        f.seek(info.data_offset)
        frames = min(info.sample_rate, info.data_size // (2 * info.channels))
        raw = f.read(frames * 2 * info.channels)
    samples = array("h")
    samples.frombytes(raw[: len(raw) - len(raw) % 2])
    mono = samples[:: info.channels]
    if len(mono) < 2:
        return fallback
    crossings = sum(1 for a, b in itertools.pairwise(mono) if (a < 0) != (b < 0))
    f0 = crossings / 2 / (len(mono) / info.sample_rate)
    return round(min(max(f0, 50.0), 500.0), 1) if f0 > 0 else fallback


def _wav_header(data_size: int, rate: int, channels: int, bits: int, extra: bytes = b"") -> bytes:
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 4 + 8 + 16 + len(extra) + 8 + data_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + extra
        + b"data"
        + struct.pack("<I", data_size)
    )


def _info_chunk(tag: str) -> bytes:
    """A ``LIST/INFO`` chunk with a comment, so a converted file records what made it."""
    text = tag.encode() + b"\0"
    if len(text) % 2:
        text += b"\0"
    sub = b"ICMT" + struct.pack("<I", len(text)) + text
    body = b"INFO" + sub
    return b"LIST" + struct.pack("<I", len(body)) + body


def _tone_second(freq: int, amp: float = 0.3) -> bytes:
    """One second of a sine at an integer frequency: repeats seamlessly."""
    w = 2 * math.pi * freq / _OUT_RATE
    a = amp * 32767
    return array("h", [int(a * math.sin(w * i)) for i in range(_OUT_RATE)]).tobytes()


def _write_tone(f: BinaryIO, freq: float, seconds: float) -> int:
    n = round(seconds * _OUT_RATE) * 2
    if freq <= 0:
        f.write(bytes(n))
        return n
    block = _tone_second(max(20, min(round(freq), _OUT_RATE // 2 - 1)))
    left = n
    while left > 0:
        chunk = block[: min(left, len(block))]
        f.write(chunk)
        left -= len(chunk)
    return n


def write_tone_wav(path: str, segments: list[tuple[float, float]], tag: str = "") -> None:
    """A mono 8 kHz 16-bit WAV of ``(frequency, seconds)`` segments (frequency 0 is silence)."""
    data_size = sum(round(s * _OUT_RATE) * 2 for _, s in segments)
    with open(path + ".part", "wb") as f:
        f.write(_wav_header(data_size, _OUT_RATE, 1, 16, _info_chunk(tag) if tag else b""))
        for freq, seconds in segments:
            _write_tone(f, freq, seconds)
    os.replace(path + ".part", path)


def _tts_segments(text: str) -> list[tuple[float, float]]:
    segments: list[tuple[float, float]] = []
    for word in text.split():
        freq = 150 + zlib.crc32(word.lower().encode()) % 250
        segments.append((freq, 0.06 * len(word) + 0.04))
        segments.append((0, 0.05))
    return segments or [(0, 0.1)]


def tts_duration(text: str) -> float:
    """The duration ``write_tts_wav`` will produce: about proportional to the text's length."""
    return round(sum(round(s * _OUT_RATE) for _, s in _tts_segments(text)) / _OUT_RATE, 3)


def write_tts_wav(path: str, text: str) -> None:
    """Speech stand-in: one tone per word, pitch from the word, length from its letters."""
    write_tone_wav(path, _tts_segments(text), tag="tts")


def _shift_pcm16(samples: array[int], channels: int, ratio: float, block: int = 2048) -> array[int]:
    """Pitch-shift keeping the duration: each block is resampled by ``ratio`` and wrapped."""
    frames = len(samples) // channels
    out = array("h", bytes(len(samples) * 2))
    index_cache: dict[int, list[int]] = {}
    for base in range(0, frames, block):
        blen = min(block, frames - base)
        idx = index_cache.get(blen)
        if idx is None:
            idx = index_cache[blen] = [int(j * ratio) % blen for j in range(blen)]
        for ch in range(channels):
            seg = samples[base * channels + ch : (base + blen) * channels : channels]
            out[base * channels + ch : (base + blen) * channels : channels] = array("h", [seg[k] for k in idx])
    return out


def _render_wav(f: BinaryIO, size: int, out: BinaryIO, ratio: float, tag: str, max_bytes: int) -> bool:
    """Write the conversion of the WAV ``f`` to ``out``; ``False`` (nothing written) if ``f`` is not a WAV we read."""
    info = read_wav_info(f, size)
    if info is None:
        return False
    out.write(_wav_header(info.data_size, info.sample_rate, info.channels, info.bits, _info_chunk(tag)))
    f.seek(info.data_offset)
    if info.audio_format == 1 and info.bits == 16 and info.data_size <= max_bytes:
        samples = array("h")
        raw = f.read(info.data_size)
        samples.frombytes(raw[: len(raw) - len(raw) % 2])
        out.write(_shift_pcm16(samples, info.channels, ratio).tobytes())
        out.write(raw[len(raw) - len(raw) % 2 :])
    else:
        # Over the cap: copy the samples as they are (only the header differs).
        left = info.data_size
        while left > 0:
            chunk = f.read(min(left, 1 << 20))
            if not chunk:
                break
            out.write(chunk)
            left -= len(chunk)
    return True


def render_conversion(
    src: str | bytes, src_fmt: str, dst: str, *, semitones: float, tag: str, duration: float, max_bytes: int
) -> None:
    """Write the converted audio of ``src`` (a path, or the file's bytes) to ``dst`` (always a WAV).

    16-bit PCM WAV up to ``max_bytes``: pitch-shifted by ``2 ** (semitones / 12)``.  Larger
    or other WAVs: the same samples with a header naming the conversion (cheap).  Other
    formats: a tone whose frequency follows the semitones, of the same duration.
    """
    ratio = 2 ** (semitones / 12)
    if src_fmt == "wav":
        f: BinaryIO = io.BytesIO(src) if isinstance(src, bytes) else open(src, "rb")  # noqa: SIM115
        size = len(src) if isinstance(src, bytes) else os.fstat(f.fileno()).st_size
        with f, open(dst + ".part", "wb") as out:
            done = _render_wav(f, size, out, ratio, tag, max_bytes)
        if done:
            os.replace(dst + ".part", dst)
            return
        os.unlink(dst + ".part")
    write_tone_wav(dst, [(220 * ratio, max(duration, 0.1))], tag=tag)


def render_wav_bytes(src: bytes, *, semitones: float, tag: str, max_bytes: int) -> bytes | None:
    """``render_conversion`` of a WAV held in memory, into memory; ``None`` if it is not a WAV we read."""
    out = io.BytesIO()
    if not _render_wav(io.BytesIO(src), len(src), out, 2 ** (semitones / 12), tag, max_bytes):
        return None
    return out.getvalue()


def write_waveform(src: str, fmt: str, dst: str, points: int = 100) -> None:
    """Peak amplitudes (0..1) at ``points`` positions, the JSON a player draws."""
    size = os.path.getsize(src)
    peaks: list[float] = []
    with open(src, "rb") as f:
        info = read_wav_info(f, size) if fmt == "wav" else None
        if info is not None and info.bits == 16 and info.data_size >= 2:
            step = max(info.data_size // points, 2)
            for i in range(points):
                f.seek(info.data_offset + min(i * step, info.data_size - 2) // 2 * 2)
                raw = f.read(min(512, step) // 2 * 2)
                chunk = array("h")
                chunk.frombytes(raw)
                peaks.append(round(max((abs(x) for x in chunk), default=0) / 32768, 4))
        else:
            step = max(size // points, 1)
            for i in range(points):
                f.seek(min(i * step, max(size - 1, 0)))
                b = f.read(1)
                peaks.append(round(b[0] / 255, 4) if b else 0.0)
    with open(dst + ".part", "wb") as out:
        out.write(msgspec.json.encode({"points": points, "peaks": peaks}))
    os.replace(dst + ".part", dst)

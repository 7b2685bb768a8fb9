"""Tiny audio files and small helpers for the job tests."""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Sequence
from pathlib import Path


def wav_bytes(seconds: float = 0.25, freq: float = 220.0, rate: int = 8000) -> bytes:
    n = int(seconds * rate)
    data = array("h", [int(6000 * math.sin(2 * math.pi * freq * i / rate)) for i in range(n)]).tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + len(data))
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(data))
        + data
    )


def flac_bytes(seconds: float = 0.5, rate: int = 16000) -> bytes:
    """A FLAC stream header (STREAMINFO) followed by filler: enough for sniffing and duration."""
    total = int(seconds * rate)
    packed = (rate << 44) | (0 << 41) | (15 << 36) | total
    info = struct.pack(">HH", 4096, 4096) + b"\x00\x00\x00" + b"\x00\x00\x00" + packed.to_bytes(8, "big") + bytes(16)
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info + bytes(64)


def make_tree(root: Path, n_wav: int, n_flac: int = 0, *, subdirs: int = 1) -> list[Path]:
    paths = []
    for i in range(n_wav + n_flac):
        sub = root / f"d{i % subdirs}" if subdirs > 1 else root
        sub.mkdir(parents=True, exist_ok=True)
        if i < n_wav:
            path = sub / f"clip {i:03d}.wav"
            path.write_bytes(wav_bytes(0.1 + 0.01 * (i % 5), 180 + i))
        else:
            path = sub / f"song_{i:03d}.flac"
            path.write_bytes(flac_bytes(0.5))
        paths.append(path)
    return paths


_MPEG2_L3_KBPS = {
    8: 1,
    16: 2,
    24: 3,
    32: 4,
    40: 5,
    48: 6,
    56: 7,
    64: 8,
    80: 9,
    96: 10,
    112: 11,
    128: 12,
    144: 13,
    160: 14,
}


def mp3_frame(kbps: int, rate: int = 16000, xing: tuple[int, int] | None = None) -> bytes:
    """One silent MPEG-2 Layer III mono frame (576 samples); ``xing``: a VBR header (frames, bytes)."""
    sr_index = {22050: 0, 24000: 1, 16000: 2}[rate]
    header = bytes([0xFF, 0xF3, (_MPEG2_L3_KBPS[kbps] << 4) | (sr_index << 2), 0xC0])
    body = bytearray(72 * kbps * 1000 // rate - 4)
    if xing is not None:  # after the 9 bytes of mono side information
        body[9:25] = b"Xing" + struct.pack(">III", 3, *xing)
    return header + bytes(body)


def mp3_bytes(kbps: Sequence[int], rate: int = 16000, *, vbr_header: bool = False) -> tuple[bytes, float]:
    """MP3 frames at these bitrates (one per entry), and their exact duration in seconds."""
    frames = [mp3_frame(k, rate) for k in kbps]
    head = [mp3_frame(kbps[0], rate, xing=(len(frames), sum(map(len, frames))))] if vbr_header else []
    return b"".join(head + frames), len(frames) * 576 / rate

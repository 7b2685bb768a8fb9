"""Tiny audio files and small helpers for the job tests."""

from __future__ import annotations

import math
import struct
from array import array
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

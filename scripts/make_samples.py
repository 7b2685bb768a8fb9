"""Regenerate the demo's sample library in ``voiceapi_async/_samples/``.

Short spoken-like tones (a few harmonics with a gliding pitch and a syllable envelope),
as 16 kHz mono 16-bit WAV and FLAC (FLAC written with verbatim subframes: valid, simple,
no encoder library needed).  The whole library stays under 300 KB.

    python scripts/make_samples.py
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

RATE = 16_000
OUT = Path(__file__).resolve().parents[1] / "voiceapi_async" / "_samples"
SAMPLES = [
    ("Welcome to the library.wav", 140.0, 1.2),
    ("chapter_01 (intro).wav", 180.0, 1.0),
    ("chapter 02.flac", 120.0, 1.1),
    ("narrator take 3.flac", 210.0, 0.9),
    ("Épilogue – final!.wav", 160.0, 0.8),  # noqa: RUF001  (a name that is not a valid label)
]


def voice_like(f0: float, seconds: float) -> list[int]:
    n = int(RATE * seconds)
    out = []
    phase = 0.0
    for i in range(n):
        t = i / RATE
        pitch = f0 * (1 + 0.08 * math.sin(2 * math.pi * 1.5 * t))
        phase += 2 * math.pi * pitch / RATE
        envelope = 0.5 * (1 - math.cos(2 * math.pi * min(1.0, (t * 4) % 1.0)))
        value = sum(math.sin(k * phase) / k for k in (1, 2, 3, 4))
        out.append(int(9000 * envelope * value / 2.1))
    return out


def wav(samples: list[int]) -> bytes:
    data = struct.pack(f"<{len(samples)}h", *samples)
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def flac(samples: list[int], block: int = 4096) -> bytes:
    total = len(samples)
    info = struct.pack(">HH", block, block) + b"\x00\x00\x00" + b"\x00\x00\x00"
    # 20 bits rate, 3 bits channels-1 (0), 5 bits bps-1 (15), 36 bits total samples
    packed = (RATE << 44) | (0 << 41) | (15 << 36) | total
    info += packed.to_bytes(8, "big") + b"\x00" * 16
    out = bytearray(b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info)
    for number, start in enumerate(range(0, total, block)):
        chunk = samples[start : start + block]
        assert number < 128  # one-byte "UTF-8" frame number
        header = bytes([0xFF, 0xF8, 0x70, 0x08, number]) + struct.pack(">H", len(chunk) - 1)
        header += bytes([_crc8(header)])
        frame = header + bytes([0x02]) + struct.pack(f">{len(chunk)}h", *chunk)
        out += frame + struct.pack(">H", _crc16(frame))
    return bytes(out)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, f0, seconds in SAMPLES:
        samples = voice_like(f0, seconds)
        (OUT / name).write_bytes(flac(samples) if name.endswith(".flac") else wav(samples))
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"{len(SAMPLES)} samples, {total / 1024:.0f} KB in {OUT}")


if __name__ == "__main__":
    main()

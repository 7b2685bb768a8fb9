"""Sample answers in the shapes of the endpoint reference."""

from __future__ import annotations

import struct
from typing import Any

PID = "00000000-0000-4000-8000-000000000001"
FID = "00000000-0000-4000-8000-000000000002"
RID = "00000000-0000-4000-8000-000000000003"
VID = "00000000-0000-4000-8000-000000000004"
AID = "00000000-0000-4000-8000-000000000005"
NSID = "00000000-0000-4000-8000-000000000006"
CID = "00000000-0000-4000-8000-000000000007"
UID = "00000000-0000-4000-8000-000000000008"
TS = "2023-10-08T16:12:55.753Z"


def page(items: list[Any], count: int | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    return {
        "list": items,
        "pagination": {"count": len(items) if count is None else count, "limit": limit, "offset": offset},
    }


PROJECT = {
    "name": "Audiobook",
    "slug": "audiobook",
    "owner": UID,
    "url": "audiobook",
    "models": {},
    "id": PID,
    "active": True,
    "created_at": TS,
    "last_recording_at": TS,
}
FOLDER = {"name": "Chapter 1", "project_id": PID, "parent_id": None, "id": FID, "active": True, "created_at": TS}
RECORDING = {
    "id": RID,
    "project_id": PID,
    "parent_folder_id": FID,
    "type": "original",
    "url": f"/api/files/{RID}/take.wav",
    "waveform_url": f"/api/files/{RID}/waveform.json",
    "file_name": "take.wav",
    "label": "take 1",
    "state": "done",
    "original_id": None,
    "microphone": "file",
    "size": 1234,
    "duration": 1.5,
    "starred": False,
    "tts": False,
    "params": {},
    "active": True,
    "created_at": TS,
    "listen_count": 0,
    "note": {"id": CID, "text": "hello", "active": True},
}
CONVERSION = {**RECORDING, "id": CID, "type": "converted", "state": "processing", "original_id": RID, "model_id": VID}
CALIBRATION = {
    "id": CID,
    "name": "my voice",
    "user_id": UID,
    "f0": 120.5,
    "algorithm": "auto",
    "bucket": "b",
    "key": "k",
    "state": "processing",
    "error": None,
    "created_at": TS,
    "calibrated_at": None,
    "enabled": False,
}
VOICE = {
    "id": VID,
    "owner_id": UID,
    "name": "Aurora",
    "slug": "aurora",
    "visibility": "public",
    "species": "human",
    "gender": "female",
    "pitch": 3,
    "age_group": "adult",
    "pitch_group": "mid",
    "nationality": "US",
    "rating": 90,
    "active": True,
    "created_at": TS,
    "favorite": False,
    "available": True,
    "accents": [
        {
            "id": AID,
            "is_default": True,
            "native": True,
            "info": {"name": "American", "short_name": "US", "locale": "en-US"},
            "tiers": [{"name": "basic"}],
            "available": True,
            "settings": {"favorite": False, "semitones_correction": 0},
        }
    ],
    "narration_styles": [{"id": NSID, "is_default": True, "info": {"name": "calm"}, "settings": {"favorite": False}}],
    "tiers": [{"name": "basic"}],
}
ORDER = {
    "id": "00000000-0000-4000-8000-0000000000aa",
    "user_id": UID,
    "original_id": RID,
    "conversion_id": CID,
    "tracking_id": "00000000-0000-4000-8000-0000000000bb",
    "state": "processing",
    "created_at": TS,
}
USER = {
    "id": UID,
    "email": "ada@example.com",
    "verified": True,
    "username": "ada",
    "roles": ["user"],
    "groups": [],
    "data": {"rate_limits": {"fast": {"times": 500, "seconds": 300}, "slow": {"times": 100, "seconds": 300}}},
}
NOTE = {"id": CID, "recording_id": RID, "text": "retake", "active": True}
STATS = {
    "time_converted": {"total": 10, "current_month": 5, "previous_monthes": [{"month": "2023-11-08", "duration": 5}]},
    "conversions": {"total": 3, "completed": 2, "in_progress": 1, "failed": 0},
    "models": [{"id": VID, "name": "Aurora", "conversions_count": 3, "converted_time": 10}],
}


def wav_bytes(samples: int = 100, rate: int = 16000) -> bytes:
    data = struct.pack(f"<{samples}h", *([1000, -1000] * (samples // 2)))
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(data)) + data

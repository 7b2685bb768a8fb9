"""Asking the server what an interrupted non-idempotent request did, before sending it again.

Originals carry a marker in their label (a hash of the job and the item), so a folder's
originals, newest first, tell whether an upload or a TTS request was carried out.
Conversions are matched on the original's conversion list by voice and label.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from .._client import VoiceClient
from .._models import Recording
from .._validation import LABEL_MAX, sanitize_label
from ._targets import ResolvedTarget

__all__ = ["find_conversions", "find_original", "marked_label", "match_conversions"]

MARKER_LEN = 10
#: How far back (seconds before the intent) to look: covers clock skew between us and the server.
_SKEW = 600.0


_ROOM = LABEL_MAX - MARKER_LEN - 1
#: A base ``sanitize_label`` leaves as it is (no spaces to fold, nothing to replace): most file names.
_PLAIN = re.compile(r"[a-zA-Z0-9-]+").fullmatch


def marked_label(base: str, job_id: str, key: str) -> str:
    """``"<base> <marker>"`` within the API's 40 characters; the marker is unique per job and item."""
    marker = hashlib.sha256(f"{job_id}\0{key}".encode()).hexdigest()[:MARKER_LEN]
    stem = base[:_ROOM] if _PLAIN(base) else sanitize_label(base, fallback="item")[:_ROOM].rstrip()
    return f"{stem} {marker}"


async def find_original(
    client: VoiceClient, folder_id: str, label: str, size: int | None, since: float | None
) -> Recording | None:
    """The original labelled ``label`` in the folder, newest first; stops at originals older than the intent."""
    async for recording in client.recordings.originals(folder_id, limit=200, direction="desc"):
        if recording.label == label and (size is None or recording.size in (None, size)):
            return recording
        created = recording.created_at
        if since is not None and created is not None and created.timestamp() < since - _SKEW:
            return None
    return None


async def find_conversions(client: VoiceClient, original_id: str, targets: Sequence[ResolvedTarget]) -> dict[int, str]:
    """Target index -> conversion id, for the targets an earlier order already created."""
    conversions = [r async for r in client.recordings.conversions(original_id, limit=200, direction="asc")]
    return match_conversions(conversions, targets)


def match_conversions(conversions: Iterable[Recording], targets: Sequence[ResolvedTarget]) -> dict[int, str]:
    """Target index -> the id of the first of an original's ``conversions`` made for it (same voice and label)."""
    found: dict[int, str] = {}
    for recording in conversions:
        for i, target in enumerate(targets):
            if i not in found and recording.model_id == target.voice_id and recording.label == target.label:
                found[i] = recording.id
                break
    return found

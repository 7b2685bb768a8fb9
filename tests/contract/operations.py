"""Which SDK model decodes each operation of the vendor's OpenAPI.

``RESPONSES`` is the table the contract suite decodes with: for every operation of the
OpenAPI that the SDK calls, the exact type the SDK hands to the transport's one decoder
(``decode_answer``).  ``test_responses.py`` checks it against what the SDK really uses
(every call of ``tests/sdk/test_operations.py`` is run and its decode type recorded), and
that every operation of the OpenAPI is either here or in ``NOT_COVERED`` with a reason.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

from voiceapi_async.types import (
    AccentSamples,
    Calibration,
    CalibrationPage,
    CreditBalance,
    DeletedId,
    Folder,
    FolderPage,
    FolderStats,
    Health,
    LoginResponse,
    NarrationStyleSamples,
    Note,
    OkResponse,
    Order,
    Project,
    ProjectPage,
    ProjectStats,
    Recording,
    RecordingPage,
    TTSVoice,
    User,
    UserStats,
    Voice,
    VoicePage,
)

Operation = tuple[str, str]  # (method, path template of the OpenAPI)

RESPONSES: dict[Operation, Any] = {
    ("GET", "/api/healtz"): Health,
    ("POST", "/api/login"): LoginResponse,
    ("POST", "/api/logout"): OkResponse,
    ("POST", "/api/auth"): User,
    ("GET", "/api/calibration"): CalibrationPage | builtins.list[Calibration],
    ("POST", "/api/calibration"): Calibration,
    ("GET", "/api/calibration/{calibration_id}"): Calibration,
    ("DELETE", "/api/calibration/{calibration_id}"): Calibration,
    ("PATCH", "/api/calibration/{calibration_id}"): Calibration,
    ("PUT", "/api/calibration/{calibration_id}/enable"): Calibration,
    ("GET", "/api/credits"): CreditBalance,
    ("GET", "/api/projects"): ProjectPage | builtins.list[Project],
    ("POST", "/api/projects"): Project,
    ("GET", "/api/projects/by-url"): Project,
    ("DELETE", "/api/projects/{project_id}"): DeletedId,
    ("PATCH", "/api/projects/{project_id}"): Project,
    ("GET", "/api/folders"): FolderPage | builtins.list[Folder],
    ("POST", "/api/folders"): Folder,
    ("GET", "/api/folders/{folder_id}"): Folder,
    ("DELETE", "/api/folders/{folder_id}"): builtins.list[str],
    ("PATCH", "/api/folders/{folder_id}"): Folder,
    ("GET", "/api/recordings"): RecordingPage | builtins.list[Recording],
    ("POST", "/api/recordings"): Recording,
    ("GET", "/api/recordings/originals"): RecordingPage | builtins.list[Recording],
    ("GET", "/api/recordings/{recording_id}"): Recording,
    ("PUT", "/api/recordings/{recording_id}"): Recording,
    ("DELETE", "/api/recordings/{recording_id}"): builtins.list[DeletedId] | DeletedId,
    ("PATCH", "/api/recordings/{recording_id}"): Recording,
    ("GET", "/api/recordings/conversions"): RecordingPage | builtins.list[Recording],
    ("POST", "/api/recordings/tts"): Recording,
    ("GET", "/api/tts-voices"): builtins.list[TTSVoice],
    ("GET", "/api/notes"): builtins.list[Note],
    ("PUT", "/api/notes"): Note,
    ("POST", "/api/notes"): Note,
    ("DELETE", "/api/notes"): Note,
    ("GET", "/api/stats"): UserStats,
    ("POST", "/api/stats/projects"): builtins.list[ProjectStats],
    ("POST", "/api/stats/folders"): builtins.list[FolderStats],
    ("POST", "/api/v2/recordings/tts"): Recording,
    ("POST", "/api/v2/orders"): builtins.list[Order],
    ("POST", "/api/v2/orders/retry/{recording_id}"): Order,
    ("GET", "/api/v2/voices"): VoicePage | builtins.list[Voice],
    ("GET", "/api/v2/voices/search"): builtins.list[Voice],
    ("POST", "/api/v2/voices/favorite/{voice_id}"): Voice,
    ("POST", "/api/v2/voices/settings"): Voice,
    ("GET", "/api/v2/accents/samples"): AccentSamples,
    ("GET", "/api/v2/narration-styles/samples"): NarrationStyleSamples,
}

#: In ``RESPONSES`` (the model exists and is checked) but no SDK call reaches it yet.
NOT_YET_CALLED: dict[Operation, str] = {}

#: Operations of the OpenAPI the SDK does not decode, and why.
NOT_COVERED: dict[Operation, str] = {
    ("GET", "/api/models"): "not in the endpoint reference; models are 'no longer used'",
    ("POST", "/api/recordings/conversion-order"): "superseded by POST /api/v2/orders",
    ("POST", "/api/recordings/conversion-redo/{recording_id}"): "superseded by POST /api/v2/orders/retry",
    ("PUT", "/api/projects/{project_id}"): "project models are 'no longer used'; rename is PATCH",
    ("GET", "/api/projects/{project_id}/export"): "a zip, streamed to a file: nothing to decode",
    ("GET", "/api/recordings/export"): "a zip, streamed to a file: nothing to decode",
    ("GET", "/api/{file_url}"): "an audio file, streamed: nothing to decode",
}

#: Operations the SDK calls that the OpenAPI (older than the endpoint reference) lacks.
NOT_IN_OPENAPI: set[Operation] = {
    ("POST", "/api/api-key"),
    ("DELETE", "/api/api-key"),
    ("POST", "/api/calibration/auto"),
}

#: The endpoint reference sends stats lists as GET with a JSON body; the OpenAPI says POST.
METHOD_ALIASES: dict[Operation, str] = {
    ("GET", "/api/stats/projects"): "POST",
    ("GET", "/api/stats/folders"): "POST",
}

#: Answer shapes the endpoint reference shows besides the OpenAPI's, decoded with the same type.
EXTRA_SHAPES: dict[Operation, dict[str, Any]] = {
    # "GET /api/calibration ... A JSON list of calibrations."
    ("GET", "/api/calibration"): {
        "type": "array",
        "items": {"$ref": "#/components/schemas/CalibrationResponse"},
    },
}


def openapi_operation(document: dict[str, Any], method: str, path: str) -> Operation | None:
    """The OpenAPI operation a concrete SDK call lands on (literal segments win over ``{id}``)."""
    candidates = []
    for template in document["paths"]:
        if template == "/api/{file_url}":
            continue
        pattern = "^" + re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            candidates.append(template)
    candidates.sort(key=lambda t: t.count("{"))
    for template in candidates:
        wanted = METHOD_ALIASES.get((method, template), method)
        if wanted.lower() in document["paths"][template]:
            return wanted, template
    return None


def success_schema(document: dict[str, Any], operation: Operation) -> dict[str, Any] | None:
    """The JSON schema of the operation's 2xx answer, if it has one."""
    method, template = operation
    responses = document["paths"][template][method.lower()]["responses"]
    for status, response in responses.items():
        if str(status).startswith("2"):
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            return schema or None
    return None

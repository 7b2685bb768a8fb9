"""What the SDK sends matches the vendor's request schemas: names, required, enums, lengths.

For every request model the SDK encodes: its fields are properties of the schema (or
documented by the endpoint reference, which wins where explicit); every property the
schema requires is required by the model; bodies generated from the schema survive the
model and the SDK's encoder unchanged and still validate (``jsonschema``).  Each length,
pattern and count limit of a request field is enforced by the SDK's validator before
sending: whatever it accepts, the schema accepts.  The open enums know exactly the
values of the OpenAPI's enums.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.contract import counts
from tests.contract.reference import openapi
from tests.contract.schemas import Mode, Resolver, reproducible, strategy
from voiceapi_async import InvalidRequestError
from voiceapi_async._resources._recordings import _calibration_name, _note_text
from voiceapi_async._transport import _encoder
from voiceapi_async._validation import check_ids, check_label, check_name, check_text
from voiceapi_async.types import (
    AgeGroup,
    CalibrationRename,
    CalibrationState,
    ConversionTarget,
    Direction,
    FavoriteUpdate,
    FolderCreate,
    FolderUpdate,
    Gender,
    LoginRequest,
    Model,
    NoteCreate,
    NoteDelete,
    NoteUpdate,
    OpenEnum,
    OrderRequest,
    OrderState,
    PitchGroup,
    ProjectCreate,
    ProjectRename,
    ProjectSortField,
    RecordingPutUpdate,
    RecordingState,
    RecordingType,
    RecordingUpdate,
    Species,
    StatsFolderRequest,
    StatsProjectRequest,
    TrustLevel,
    TTSCreateV1,
    TTSCreateV2,
    TTSVoiceVisibility,
    Visibility,
    VoiceSettingsUpdate,
    VoiceSortField,
)

_SETTINGS = reproducible(10)

#: SDK request model -> OpenAPI schema, and the fields the endpoint reference adds (it wins).
REQUESTS: dict[type[Model], tuple[str, set[str]]] = {
    LoginRequest: ("LoginCreds", set()),
    ProjectCreate: ("ProjectCreate", set()),
    ProjectRename: ("ProjectRename", set()),
    FolderCreate: ("FolderCreate", {"parent_id"}),  # "POST /api/folders" body shows parent_id
    FolderUpdate: ("FolderUpdate", set()),
    RecordingUpdate: ("RecordingUpdate", set()),
    RecordingPutUpdate: ("RecordingPutUpdate", set()),
    TTSCreateV1: ("RecordingCreateTTS", {"project_id"}),  # the v1 TTS body shows project_id
    TTSCreateV2: ("RecordingCreateTTSV2", {"text_language"}),  # "text_language" (Optional)
    CalibrationRename: ("CalibrationRename", set()),
    NoteCreate: ("NoteCreate", set()),
    NoteUpdate: ("NoteUpdate", set()),
    NoteDelete: ("NoteDelete", set()),
    StatsProjectRequest: ("StatsProjectRequest", set()),
    StatsFolderRequest: ("StatsFolderRequest", set()),
    OrderRequest: ("OrderRequest", set()),
    ConversionTarget: ("OrderConversionRequest", {"narration_style_id", "label"}),  # orders' body
    FavoriteUpdate: ("FavoriteUpdate", set()),
    VoiceSettingsUpdate: ("VoiceSettingsUpdate", set()),
}


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = openapi()["components"]["schemas"][name]
    return schema


def _validator(name: str) -> jsonschema.protocols.Validator:
    root = {"components": openapi()["components"], "allOf": [{"$ref": f"#/components/schemas/{name}"}]}
    return jsonschema.Draft7Validator(root)


def _required_fields(model: type[Model]) -> set[str]:
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    return {f.encode_name for f in info.fields if f.required}


@pytest.mark.parametrize("model", list(REQUESTS), ids=lambda m: m.__name__)
def test_request_fields_are_the_schemas(model: type[Model]) -> None:
    name, extras = REQUESTS[model]
    schema = _schema(name)
    properties = set(schema.get("properties", {}))
    fields = set(model.__struct_encode_fields__)
    assert fields - properties == extras, f"{model.__name__}: fields the schema {name} does not have"
    assert set(schema.get("required", ())) <= _required_fields(model), f"{model.__name__} may omit a required field"
    counts.REQUESTS["fields"] += len(fields)


#: The schemas of the fields the endpoint reference adds (``REQUESTS``' extras).
_UUID = {"type": "string", "format": "uuid4"}
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "parent_id": _UUID,
    "project_id": _UUID,
    "narration_style_id": _UUID,
    "text_language": {"type": "string", "maxLength": 8},
    "label": {"type": "string", "maxLength": 40, "pattern": "^[a-zA-Z0-9 -]+$"},
}


def _body_schema(model: type[Model]) -> dict[str, Any]:
    """The schema of what the SDK may send: the OpenAPI's plus the reference's extras.

    Where the SDK is stricter (a rename needs its ``name``, v1 TTS its ``project_id``) the
    field is required here too.  The body has no unknown properties.
    """
    name, extras = REQUESTS[model]
    schema = dict(_schema(name))
    schema["properties"] = {**schema.get("properties", {}), **{f: EXTRA_FIELDS[f] for f in extras}}
    schema["required"] = sorted(set(schema.get("required", ())) | _required_fields(model))
    schema["additionalProperties"] = False
    return schema


@pytest.mark.parametrize("mode", ["all", "required", "random"])
@pytest.mark.parametrize("model", list(REQUESTS), ids=lambda m: m.__name__)
def test_schema_valid_bodies_survive_the_model_and_the_encoder(model: type[Model], mode: Mode) -> None:
    name, extras = REQUESTS[model]
    validator = _validator(name)
    checked = 0

    @_SETTINGS
    @given(strategy(Resolver(openapi()), _body_schema(model), mode, unknown=False))
    def survives(body: dict[str, Any]) -> None:
        nonlocal checked
        sent = msgspec.json.decode(_encoder.encode(msgspec.convert(body, model)))
        assert sent == body
        validator.validate({k: v for k, v in sent.items() if k not in extras})
        checked += 1

    survives()
    counts.REQUESTS["bodies"] += checked


#: (schema, property) -> the SDK's check of that field before sending; every constrained one.
Check = Callable[[Any], object]
CONSTRAINED: dict[tuple[str, str], Check] = {
    ("Body_recording_create_api_recordings_post", "label"): check_label,
    ("Body_calibrate_api_calibration_post", "name"): _calibration_name,
    ("CalibrationRename", "name"): _calibration_name,
    ("RecordingCreateTTS", "text"): check_text,
    ("RecordingCreateTTS", "label"): check_label,
    ("RecordingCreateTTSV2", "text"): check_text,
    ("RecordingCreateTTSV2", "label"): check_label,
    ("RecordingUpdate", "label"): check_label,
    ("RecordingPutUpdate", "label"): check_label,
    ("ProjectCreate", "name"): lambda v: check_name(v, field="name"),
    ("ProjectRename", "name"): lambda v: check_name(v, field="name"),
    ("FolderCreate", "name"): lambda v: check_name(v, field="name"),
    ("FolderUpdate", "name"): lambda v: check_name(v, field="name"),
    ("NoteCreate", "text"): _note_text,
    ("NoteUpdate", "text"): _note_text,
    ("StatsProjectRequest", "project_ids"): lambda v: check_ids(v, field="project_ids"),
    ("StatsFolderRequest", "folder_ids"): lambda v: check_ids(v, field="folder_ids"),
}
#: Request schemas of operations the SDK does not send (see operations.NOT_COVERED).
UNSENT = {"ConversionRequest", "ProjectUpdate"}
_LIMITS = ("maxLength", "minLength", "pattern", "maxItems", "minItems")


def test_every_constrained_request_field_has_a_check() -> None:
    document = openapi()
    request_schemas = set()
    for item in document["paths"].values():
        for operation in item.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                request_schemas.add(media["schema"]["$ref"].rsplit("/", 1)[-1])
    constrained = set()
    for name in request_schemas - UNSENT:
        schema = Resolver(document).resolve(document["components"]["schemas"][name])
        for prop, spec in schema.get("properties", {}).items():
            if any(k in spec for k in _LIMITS):
                constrained.add((name, prop))
    assert constrained == set(CONSTRAINED)


def _values(spec: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values around the limits of ``spec``: schema-valid ones and arbitrary ones."""
    if spec.get("type") == "array":
        ids = st.uuids(version=4).map(str)
        high = spec.get("maxItems", 10)
        return st.lists(ids, min_size=max(0, high - 2), max_size=high + 2) | st.lists(ids, max_size=3)
    high = spec.get("maxLength", 50)
    valid = strategy(Resolver(openapi()), spec, "all")
    near = st.text(min_size=max(0, high - 2), max_size=high + 2)
    labels = st.text(alphabet="abcXYZ019 -", min_size=max(0, high - 2), max_size=high + 2)  # the label alphabet
    return valid | near | labels | st.text(max_size=high + 2) | st.text(alphabet="ab -_", max_size=high + 1)


@pytest.mark.parametrize(("schema_name", "prop"), list(CONSTRAINED), ids=lambda v: str(v))
def test_what_the_sdk_accepts_the_schema_accepts(schema_name: str, prop: str) -> None:
    document = openapi()
    spec = Resolver(document).resolve(document["components"]["schemas"][schema_name])["properties"][prop]
    check = CONSTRAINED[(schema_name, prop)]
    validator = jsonschema.Draft7Validator(spec)
    outcomes = {"accepted": 0, "refused": 0}

    @_SETTINGS
    @given(_values(spec))
    def sound(value: Any) -> None:
        try:
            check(value)
        except InvalidRequestError:
            outcomes["refused"] += 1
            return
        outcomes["accepted"] += 1
        assert validator.is_valid(value), f"the SDK would send {value!r}, which {schema_name}.{prop} refuses"

    sound()
    assert outcomes["accepted"] and outcomes["refused"], outcomes  # both sides of the limit were tried
    counts.REQUESTS["limits"] += sum(outcomes.values())


ENUMS: dict[type[OpenEnum], str] = {
    Direction: "Direction",
    RecordingState: "RecordingStates",
    RecordingType: "RecordingTypes",
    OrderState: "OrderStates",
    CalibrationState: "CalibrationStates",
    Visibility: "VisibilityLevel",
    TTSVoiceVisibility: "TTSVoiceVisibility",
    Species: "Species",
    Gender: "Gender",
    AgeGroup: "AgeGroup",
    PitchGroup: "PitchGroup",
    ProjectSortField: "ProjectSortFields",
    VoiceSortField: "VoiceSortField",
    TrustLevel: "TrustLevel",
}


@pytest.mark.parametrize("enum", list(ENUMS), ids=lambda e: e.__name__)
def test_open_enums_know_the_openapis_values(enum: type[OpenEnum]) -> None:
    assert {m.value for m in enum} == set(_schema(ENUMS[enum])["enum"])
    counts.REQUESTS["enums"] += len(enum)


#: Multipart uploads: the SDK call (from tests/sdk/test_operations.py) -> its form's schema.
UPLOADS = {
    "recordings.create": "Body_recording_create_api_recordings_post",
    "calibrations.create": "Body_calibrate_api_calibration_post",
}


@pytest.mark.parametrize("name", list(UPLOADS))
async def test_uploads_send_the_form_fields_of_the_schema(name: str, client: Any, mocked: Any) -> None:
    from tests.sdk.test_operations import OPERATIONS, _render, _url_re

    op = next(op for op in OPERATIONS if op.name == name)
    mocked.add(_url_re(op.path), method=op.method, payload=op.answer)
    await op.call(client)
    (call,) = [c for calls in mocked.requests.values() for c in calls]
    sent = await _render(call.kwargs["data"])
    fields = set(re.findall(rb'Content-Disposition: form-data; name="([^"]+)"', sent))
    schema = _schema(UPLOADS[name])
    assert fields and {f.decode() for f in fields} <= set(schema["properties"])
    assert set(schema.get("required", ())) <= {f.decode() for f in fields}
    counts.REQUESTS["fields"] += len(fields)

"""Answers generated from the vendor's OpenAPI decode with the SDK's own decoder: 0 failures.

For every operation the SDK covers, instances of its 2xx schema in five shapes (see
``schemas.py``: every property, required only, every optional ``null``, random
schema-valid, and lenient) go through ``decode_answer`` -- the transport's one decode
step -- with the exact type the SDK uses for that operation.  Independent of the
emulator: the models are shared with it, so emulator-backed tests cannot catch a model
that is wrong the same way on both sides.
"""

from __future__ import annotations

import warnings
from typing import Any

import msgspec
import pytest
from aioresponses import aioresponses
from hypothesis import given

from tests.conftest import API_KEY, BASE
from tests.contract import counts
from tests.contract.operations import (
    EXTRA_SHAPES,
    NOT_COVERED,
    NOT_IN_OPENAPI,
    NOT_YET_CALLED,
    RESPONSES,
    Operation,
    openapi_operation,
    success_schema,
)
from tests.contract.reference import openapi
from tests.contract.schemas import MODES, Mode, Resolver, reproducible, strategy
from tests.sdk.samples import USER
from tests.sdk.test_operations import OPERATIONS, _url_re
from voiceapi_async import RateLimits, VoiceClient
from voiceapi_async._resources import _account
from voiceapi_async._transport import _error_decoder, decode_answer

#: Generated answers per operation and shape: 45 operations x 5 shapes x 8 is ~1,800 answers.
EXAMPLES = 8


def _cases() -> list[tuple[Operation, Mode, dict[str, Any]]]:
    document = openapi()
    cases = []
    for operation in RESPONSES:
        schema = success_schema(document, operation)
        assert schema is not None, f"{operation}: the OpenAPI gives no JSON answer"
        shapes = [schema, EXTRA_SHAPES[operation]] if operation in EXTRA_SHAPES else [schema]
        for i, shape in enumerate(shapes):
            for mode in MODES:
                cases.append((operation, mode, shape) if i == 0 else (operation, mode, {**shape, "x-extra": True}))
    return cases


@pytest.mark.parametrize(
    ("operation", "mode", "schema"),
    _cases(),
    ids=[f"{m} {p} {mode}{' (reference shape)' if 'x-extra' in s else ''}" for (m, p), mode, s in _cases()],
)
def test_generated_answers_decode(operation: Operation, mode: Mode, schema: dict[str, Any]) -> None:
    cast_to = RESPONSES[operation]
    method, path = operation
    generated = strategy(Resolver(openapi()), {k: v for k, v in schema.items() if k != "x-extra"}, mode)
    decoded = 0

    @reproducible(EXAMPLES)
    @given(generated)
    def decodes(answer: Any) -> None:
        nonlocal decoded
        decode_answer(
            msgspec.json.encode(answer), cast_to, 200, method, path
        )  # raises APIResponseValidationError with the path of the failure
        decoded += 1

    decodes()
    assert decoded >= 1
    counts.DECODED[mode] += decoded


async def test_the_table_is_what_the_sdk_decodes_with(
    client: VoiceClient, mocked: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every SDK call (``tests/sdk/test_operations.py`` plus login) is run; its decode type recorded."""
    seen: dict[tuple[str, str], set[Any]] = {}
    real = decode_answer

    def spy(content: bytes, cast_to: Any, status: int, method: str, path: str, *args: Any) -> Any:
        seen.setdefault((method, path), set()).add(cast_to)
        return real(content, cast_to, status, method, path, *args)

    monkeypatch.setattr("voiceapi_async._transport.decode_answer", spy)
    monkeypatch.setattr(_account, "decode_answer", spy)
    for op in OPERATIONS:  # each on a fresh client, as in test_operations (api_keys.delete forgets the key)
        mocked.add(_url_re(op.path), method=op.method, payload=op.answer, status=op.status)
        async with VoiceClient(api_key=API_KEY, base_url=BASE, rate_limits=RateLimits.disabled()) as fresh:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                await op.call(fresh)
    mocked.post(f"{BASE}/api/login", payload={"user": USER, "csrf_token": "t"}, headers={"Set-Cookie": "session_id=s"})
    await client.auth.login("ada@example.com", "pw")

    document = openapi()
    used: dict[Operation, set[Any]] = {}
    outside: set[Operation] = set()
    for (method, path), types in seen.items():
        operation = openapi_operation(document, method, path)
        if operation is None:
            outside.add((method, path))
        else:
            used.setdefault(operation, set()).update(types)
    assert outside == NOT_IN_OPENAPI
    assert {op: {RESPONSES.get(op)} for op in used} == used, "RESPONSES must name the type the SDK decodes with"
    assert set(RESPONSES) - set(used) == set(NOT_YET_CALLED), "an operation the SDK calls now leaves NOT_YET_CALLED"
    assert not set(used) & set(NOT_COVERED)


def test_every_operation_of_the_openapi_is_decoded_or_explained() -> None:
    document = openapi()
    operations = {
        (method.upper(), template)
        for template, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations == set(RESPONSES) | set(NOT_COVERED), sorted(operations ^ (set(RESPONSES) | set(NOT_COVERED)))
    assert not set(RESPONSES) & set(NOT_COVERED)


ERROR_SCHEMAS = ("ErrorResponse", "HTTPValidationError")  # every 4xx/5xx answer of the OpenAPI is one of these


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ERROR_SCHEMAS)
def test_generated_error_bodies_keep_their_structure(name: str, mode: Mode) -> None:
    """Error answers decode as ``ErrorBody`` (else the typed error would carry raw text, not ``.errors``)."""
    decoded = 0

    @reproducible(EXAMPLES)
    @given(strategy(Resolver(openapi()), {"$ref": f"#/components/schemas/{name}"}, mode))
    def decodes(body: Any) -> None:
        nonlocal decoded
        _error_decoder.decode(msgspec.json.encode(body))
        decoded += 1

    decodes()
    counts.ERRORS[mode] += decoded


def test_every_error_answer_of_the_openapi_is_one_of_the_error_schemas() -> None:
    schemas = set()
    for item in openapi()["paths"].values():
        for operation in item.values():
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith("2"):
                    schemas.add(response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1])
    assert schemas == set(ERROR_SCHEMAS)

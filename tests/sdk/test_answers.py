"""Acknowledgements in every legal shape, and successes whose body does not decode.

(Bare-list pages: tests/sdk/test_pagination.py.)
"""

from __future__ import annotations

import json
import re

import pytest
from aioresponses import aioresponses

from tests.conftest import BASE
from tests.sdk.samples import ORDER, RID, USER, VID
from voiceapi_async import (
    APIResponseValidationError,
    APIStatusError,
    ConversionTarget,
    OkResponse,
    VoiceAPIError,
    VoiceClient,
)

CSRF = "csrf-abcdef-SECRET"


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"", 204, "OK"),
        (b"", 200, "OK"),
        (b"null", 200, "OK"),
        (b"true", 200, "OK"),
        (b'"done"', 200, "done"),
        (b'{"detail": "OK", "extra": 1}', 200, "OK"),
        (b"{}", 200, "OK"),
        (b'{"detail": null}', 200, None),
    ],
)
async def test_acknowledgements_accept_every_legal_shape(
    body: bytes, status: int, detail: str | None, client: VoiceClient, mocked: aioresponses
) -> None:
    for method, url in [
        ("POST", f"{BASE}/api/logout"),
        ("POST", f"{BASE}/api/calibration/auto"),
        ("DELETE", f"{BASE}/api/api-key"),
    ]:
        mocked.add(url, method=method, body=body, status=status)
    # the key's deletion last: afterwards the client holds no credentials
    results = [await client.auth.logout(), await client.calibrations.set_auto(), await client.api_keys.delete()]
    assert results == [OkResponse(detail=detail)] * 3


async def test_an_acknowledgement_that_is_no_acknowledgement_is_a_validation_error(
    client: VoiceClient, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/api/calibration/auto", body=b"[1, 2]")
    with pytest.raises(APIResponseValidationError, match="as OkResponse"):
        await client.calibrations.set_auto()


async def test_an_undecodable_success_carries_the_call_and_the_start_of_the_body(
    client: VoiceClient, mocked: aioresponses
) -> None:
    answer = [{**ORDER, "state": None, "padding": "x" * 5000}]
    mocked.post(f"{BASE}/api/v2/orders", payload=answer)
    with pytest.raises(APIResponseValidationError) as caught:
        await client.orders.create(RID, [ConversionTarget(voice_id=VID)])
    error = caught.value
    assert isinstance(error, VoiceAPIError) and not isinstance(error, APIStatusError)
    assert (error.status_code, error.method, error.path) == (200, "POST", "/api/v2/orders")
    assert "$[0].state" in error.args[0]
    assert error.body.startswith('[{"id":') and len(error.body) == APIResponseValidationError.BODY_PREVIEW
    assert "the server acted" in str(error) and "/api/v2/orders" in str(error)
    assert "padding" not in repr(error)  # the body is for diagnosis, not for every log line


async def test_login_decoding_is_wrapped_and_keeps_secrets_out(client: VoiceClient, mocked: aioresponses) -> None:
    user = {**USER, "id": None}  # required: undecodable
    mocked.post(
        f"{BASE}/api/login",
        payload={"user": user, "csrf_token": CSRF, "api_key": "k-SECRET", "password": "p-SECRET"},
        headers={"Set-Cookie": "session_id=s-SECRET; HttpOnly; Path=/"},
    )
    with pytest.raises(APIResponseValidationError, match=re.escape("$.user.id")) as caught:
        await client.auth.login("ada@example.com", "hunter2")
    error = caught.value
    assert error.path == "/api/login"
    assert '"csrf_token": "***"' in error.body
    for text in (error.body, str(error), repr(error)):
        assert "SECRET" not in text


def test_a_secret_cut_by_the_preview_does_not_leak() -> None:
    body = json.dumps({"padding": "x" * 2030, "csrf_token": "abcdefghijklmnopqrstuvwxyz-SECRET"}).encode()
    error = APIResponseValidationError("bad", status_code=200, method="POST", path="/api/login", body=body)
    assert "abcdefghij" not in error.body and len(error.body) <= APIResponseValidationError.BODY_PREVIEW


async def test_the_clients_own_secrets_are_masked_in_the_preview(client: VoiceClient, mocked: aioresponses) -> None:
    from tests.conftest import API_KEY

    mocked.get(f"{BASE}/api/credits", payload={"credits": "lots", "echo": f"sent with {API_KEY}"})
    with pytest.raises(APIResponseValidationError) as caught:
        await client.credits.get()
    assert API_KEY not in caught.value.body and "sent with ***" in caught.value.body

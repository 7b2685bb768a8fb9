"""The emulator answering like another legal server: optionals null or omitted, bare lists, one stats method."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from tests.contract import reference
from tests.emulator.conftest import fast, make_folder, session, upload, wav_bytes
from voiceapi_async import RateLimits, Recording, VoiceClient, _models
from voiceapi_async.emulator import Emulator, ManualClock
from voiceapi_async.emulator._cli import build_parser, config_from_args
from voiceapi_async.emulator._required import REQUIRED

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_required_fields", ROOT / "scripts" / "gen_required_fields.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_required_fields_table_matches_the_openapi() -> None:
    """``_required.py`` is what ``scripts/gen_required_fields.py`` makes of the OpenAPI today."""
    gen = _generator()
    # the contract suite's references: shared/ when beside the checkout, else its vendored copy
    # (kept byte-identical to shared/ by tests/contract/test_reference.py), so this never skips
    openapi = reference.reference_file(reference.OPENAPI)
    import yaml

    assert gen.required_fields(yaml.safe_load(openapi.read_text())) == REQUIRED


def test_every_model_of_the_table_exists() -> None:
    missing = {name for name in REQUIRED if not hasattr(_models, name)}
    assert not missing, f"REQUIRED names models that do not exist: {sorted(missing)}"


def test_every_response_model_has_its_schema() -> None:
    """A new response model must be mapped to its OpenAPI schema, or its optionals never vary."""
    from voiceapi_async._models import _requests

    structs = {
        n
        for n in _models.__all__
        if isinstance(getattr(_models, n), type) and issubclass(getattr(_models, n), msgspec.Struct)
    }
    requests = {*_requests.__all__, "CalibrationRename"}
    without_schema = {"Model", "ApiKey", "ErrorBody", "ValidationErrorItem"}  # no schema, or errors
    unmapped = structs - set(_generator().SCHEMA_OF) - requests - without_schema
    assert not unmapped, f"add these to SCHEMA_OF in scripts/gen_required_fields.py: {sorted(unmapped)}"


async def _recording_json(emu: Emulator, clock: ManualClock) -> dict[str, Any]:
    async with session(emu) as s:
        _, fid = await make_folder(s)
        rid = (await (await upload(s, fid, wav_bytes(0.5))).json())["id"]
        clock.advance(5)
        r = await s.get(f"/api/recordings/{rid}")
        assert r.status == 200
        body: dict[str, Any] = await r.json()
        return body


@pytest.mark.parametrize("mode", ["full", "null", "omit"])
async def test_optional_fields_modes(mode: str, clock: ManualClock) -> None:
    async with Emulator(fast(optional_fields=mode), clock=clock) as emu:
        body = await _recording_json(emu, clock)
    fields = set(Recording.__struct_fields__)
    required = REQUIRED["Recording"] & fields
    # required fields are always there, with their values (even false / 0)
    assert required <= body.keys()
    assert body["tts"] is False and body["state"] == "done" and body["duration"] > 0 and "params" in body
    # set optional values are always sent
    assert body["url"] and body["file_name"] and body["parent_folder_id"]
    unset = {"note", "error", "starred", "label", "model_id", "calibration_id"}
    assert unset <= fields - required
    if mode == "full":
        assert body.keys() == fields
        assert body["starred"] is False and body["note"] is None
    elif mode == "null":
        assert body.keys() == fields
        assert all(body[name] is None for name in unset), {n: body[n] for n in unset}
    else:
        assert not unset & body.keys()
        assert body.keys() < fields


async def test_modes_follow_live_config_changes(clock: ManualClock) -> None:
    async with Emulator(fast(), clock=clock) as emu, session(emu) as s:
        emu.config.optional_fields = "omit"
        user = await (await s.post("/api/auth")).json()
        assert "permissions" not in user["data"] and user["first_name"] and user["email"]
        emu.config.optional_fields = "full"
        assert (await (await s.post("/api/auth")).json())["data"]["permissions"] is None


async def test_calibrations_bare_list_iterates_every_page(clock: ManualClock) -> None:
    async with Emulator(fast(calibrations_shape="list"), clock=clock) as emu:
        async with session(emu) as s:
            for i in range(7):
                fd = aiohttp.FormData()
                fd.add_field("name", f"cal {i}")
                fd.add_field("data", wav_bytes(0.2), filename="c.wav", content_type="audio/wav")
                assert (await s.post("/api/calibration", data=fd)).status == 200
            raw = await (await s.get("/api/calibration", params={"limit": "3", "offset": "6"})).json()
            assert isinstance(raw, list) and len(raw) == 1
        async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled()) as c:
            names = [cal.name async for cal in c.calibrations.list(limit=3)]
            assert sorted(names) == [f"cal {i}" for i in range(7)]
            page = await c.calibrations.list(limit=3)
            assert len(page.list) == 3 and page.has_more
            last = await c.calibrations.list(limit=3, offset=6)
            assert len(last.list) == 1 and not last.has_more
    routes = emu.counters.snapshot()["requests_by_route"]
    # the raw GET; pages 0-2, 3-5, 6 (short: the end); the two lists
    assert routes["calibrations.list"] == 1 + 3 + 2


@pytest.mark.parametrize("only", ["GET", "POST"])
async def test_strict_stats_method(only: str, clock: ManualClock) -> None:
    other = "POST" if only == "GET" else "GET"
    async with Emulator(fast(stats_method=only), clock=clock) as emu:
        async with session(emu) as s:
            pid, fid = await make_folder(s)
            for path, body in (
                ("/api/stats/projects", {"project_ids": [pid]}),
                ("/api/stats/folders", {"folder_ids": [fid]}),
            ):
                refused = await s.request(other, path, json=body)
                assert refused.status == 405 and refused.headers["Allow"] == only
                assert (await refused.json())["detail"] == "Method Not Allowed"
                accepted = await s.request(only, path, json=body)
                assert accepted.status == 200 and len(await accepted.json()) == 1
        async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits.disabled()) as c:
            for _ in range(3):
                assert (await c.stats.projects([pid]))[0].project_id == pid
                assert (await c.stats.folders([fid]))[0].folder_id == fid
    by_endpoint = emu.counters.snapshot()["requests_by_endpoint"]
    # the SDK sends GET first; against a POST-only server one 405 per path, then POST only
    expected_get = 1 + 3 if only == "GET" else 1 + 1
    assert by_endpoint["GET /api/stats/projects"] == expected_get
    assert by_endpoint["POST /api/stats/projects"] == (1 + 3 if only == "POST" else 1)


def test_cli_flags_set_the_answer_modes() -> None:
    parser = build_parser()
    cfg = config_from_args(parser.parse_args([]))
    assert (cfg.optional_fields, cfg.calibrations_shape, cfg.stats_method) == ("full", "page", "any")
    args = ["--optional-fields", "omit", "--calibrations-shape", "list", "--stats-method", "POST"]
    cfg = config_from_args(parser.parse_args(args))
    assert (cfg.optional_fields, cfg.calibrations_shape, cfg.stats_method) == ("omit", "list", "POST")
    helptext = parser.format_help()
    for flag in ("--optional-fields", "--calibrations-shape", "--stats-method"):
        assert flag in helptext
    with pytest.raises(SystemExit):
        parser.parse_args(["--stats-method", "PUT"])

"""Rate limits, injected faults, counters, admin endpoints, the pytest fixture and the command."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from voiceapi_async.emulator import NAMED_VOICES, ROUTE_NAMES, Emulator, FaultConfig, RateLimitConfig, RateRule
from voiceapi_async.emulator._cli import build_parser, config_from_args

from .conftest import fast, make_folder, session, upload, wav_bytes


async def test_rate_limit_gcra_429_retry_after() -> None:
    limits = RateLimitConfig(RateRule(5, 1), RateRule(2, 10), retry_after_precision="float")
    async with Emulator(fast(rate_limits=limits)) as emu, session(emu) as s:
        statuses = [(await s.get("/api/credits")).status for _ in range(5)]
        assert statuses == [200] * 5
        r = await s.get("/api/credits")
        assert r.status == 429 and await r.json() == {"detail": "Rate limit exceeded"}
        assert 0 < float(r.headers["Retry-After"]) <= 0.2
        await asyncio.sleep(float(r.headers["Retry-After"]) + 0.01)
        assert (await s.get("/api/credits")).status == 200
        # The slow bucket is separate and per user: 2 uploads, then 429 with ~5 s to wait.
        await asyncio.sleep(1.0)  # an idle bucket refills completely
        _, fid = await make_folder(s)
        assert [(await upload(s, fid, wav_bytes(0.05))).status for _ in range(3)] == [200, 200, 429]
        emu.config.rate_limits = RateLimitConfig(RateRule(5, 1), RateRule(2, 10))
        async with session(emu, 1) as other:
            await other.post("/api/v2/recordings/tts", json={"parent_folder_id": fid, "text": "x"})  # 404, counted
            await other.post("/api/v2/recordings/tts", json={"parent_folder_id": fid, "text": "x"})
            r = await other.post("/api/v2/recordings/tts", json={"parent_folder_id": fid, "text": "x"})
            assert r.status == 429 and r.headers["Retry-After"] == "5"
        snap = emu.counters.snapshot()
        assert snap["rate_limited"] == 3 and snap["rate_limited_by_bucket"] == {"fast": 1, "slow": 2}
        assert snap["requests_by_status"]["429"] == 3
        # The user sees the configured limits.
        assert (await (await s.post("/api/auth")).json())["data"]["rate_limits"]["slow"] == {"times": 2, "seconds": 10}


async def test_error_rate_and_endpoint_scope(voiceapi_emulator: Emulator) -> None:
    emu = voiceapi_emulator
    emu.set_faults(FaultConfig(error_rate=1.0, error_statuses=(503,), endpoints=("credits.get", "POST /api/projects")))
    async with session(emu) as s:
        r = await s.get("/api/credits")
        assert r.status == 503 and "detail" in await r.json()
        me = await (await s.post("/api/auth")).json()
        assert (await s.post("/api/projects", json={"name": "x", "owner": me["id"], "models": {}})).status == 503
        assert (await s.get("/api/projects")).status == 200
        assert emu.counters.projects_created == 0 and emu.counters.errors_injected == 2
        emu.set_faults()
        assert (await s.get("/api/credits")).status == 200


async def test_reset_before_has_no_side_effect_reset_after_has(voiceapi_emulator: Emulator) -> None:
    emu = voiceapi_emulator
    async with session(emu) as s:
        me = await (await s.post("/api/auth")).json()
        body = {"name": "p", "owner": me["id"], "models": {}}
        emu.set_faults(FaultConfig(reset_before_rate=1.0, endpoints=("projects.create",)))
        with pytest.raises(aiohttp.ClientError):
            await s.post("/api/projects", json=body)
        assert emu.counters.projects_created == 0 and emu.counters.resets_before == 1
        emu.set_faults(FaultConfig(reset_after_rate=1.0, endpoints=("projects.create",)))
        with pytest.raises(aiohttp.ClientError):
            await s.post("/api/projects", json=body)
        assert emu.counters.projects_created == 1 and emu.counters.resets_after == 1
        emu.set_faults()
        page = await (await s.get("/api/projects")).json()
        assert page["pagination"]["count"] == 1  # the order was placed although the client got no answer
        assert emu.counters.snapshot()["resets_injected"] == 2


async def test_latency_and_stall(voiceapi_emulator: Emulator) -> None:
    emu = voiceapi_emulator
    async with session(emu) as s:
        emu.set_faults(FaultConfig(latency=0.15, latency_jitter=0.05, endpoints=("credits.get",)))
        t0 = time.perf_counter()
        assert (await s.get("/api/credits")).status == 200
        assert 0.15 <= time.perf_counter() - t0 < 1.0
        t0 = time.perf_counter()
        await s.get("/api/projects")
        assert time.perf_counter() - t0 < 0.1
        emu.set_faults(FaultConfig(stall_rate=1.0, stall_seconds=0.6, endpoints=("auth.me",)))
        with pytest.raises(asyncio.TimeoutError):
            await s.post("/api/auth", timeout=aiohttp.ClientTimeout(total=0.2))
        assert emu.counters.stalls_injected == 1
        emu.set_faults()
        await asyncio.sleep(0.5)  # let the stalled handler finish before the server stops


async def test_session_expiry_fault_and_burst_429(voiceapi_emulator: Emulator) -> None:
    emu = voiceapi_emulator
    u = emu.users[0]
    async with aiohttp.ClientSession(base_url=emu.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = {
            "X-Csrf-Token": (
                await (await s.post("/api/login", json={"email": u.email, "password": u.password})).json()
            )["csrf_token"]
        }
        assert (await s.get("/api/credits", headers=csrf)).status == 200
        emu.set_faults(FaultConfig(session_expiry_rate=1.0))
        r = await s.get("/api/credits", headers=csrf)
        assert r.status == 401 and await r.json() == {"detail": "Session expired"}
        emu.set_faults()
        assert (await s.get("/api/credits", headers=csrf)).status == 401
        assert emu.counters.sessions_expired == 1
    emu.set_faults(FaultConfig(burst_429=2, burst_429_retry_after=3))
    async with session(emu) as s:
        first = await s.get("/api/credits")
        assert first.status == 429 and first.headers["Retry-After"] == "3"
        assert [(await s.get("/api/credits")).status for _ in range(2)] == [429, 200]


async def test_counters_and_admin_endpoints(voiceapi_emulator: Emulator) -> None:
    emu = voiceapi_emulator
    async with session(emu) as s, aiohttp.ClientSession(base_url=emu.base_url) as admin:
        _, fid = await make_folder(s)
        await upload(s, fid, wav_bytes(0.1), filename="a.wav", label="one")
        await upload(s, fid, wav_bytes(0.1), filename="a.wav", label="two")
        snap = await (await admin.get("/_emulator/counters")).json()
        assert snap == emu.counters.snapshot()
        assert snap["uploads_by_user_file"] == {f"{emu.users[0].id}:a.wav": 2}
        assert snap["uploads_by_label"] == {"one": 1, "two": 1}
        assert snap["requests_by_endpoint"]["POST /api/recordings"] == 2
        assert snap["requests_by_route"]["recordings.create"] == 2
        assert snap["requests_by_user"] == {emu.users[0].id: 5}
        assert snap["requests_by_status"] == {"200": 5}
        r = await admin.post("/_emulator/faults", json={"error_rate": 1.0, "endpoints": ["credits.get"]})
        assert r.status == 200 and emu.config.faults.error_rate == 1.0
        assert (await s.get("/api/credits")).status in (500, 502, 503)
        await admin.post("/_emulator/faults", json={})
        assert (await s.get("/api/credits")).status == 200
        assert (await admin.post("/_emulator/reset-counters")).status == 200
        assert emu.counters.snapshot()["requests_total"] == 0 and emu.counters.uploads_total == 0
        assert (await s.get("/api/credits")).status == 200  # per-endpoint counting goes on after a reset
        assert emu.counters.snapshot()["requests_by_route"] == {"credits.get": 1}
        assert (await (await admin.get("/_emulator/users")).json())[1]["email"] == emu.users[1].email
        stored = await (await admin.get("/_emulator/recordings")).json()  # what chaos runs check against
        assert sorted((r["type"], r["file_name"], r["label"]) for r in stored) == [
            ("original", "a.wav", "one"),
            ("original", "a.wav", "two"),
        ]


@pytest.mark.voiceapi_emulator(conversion_error_rate=1.0, users=3)
async def test_fixture_marker(voiceapi_emulator: Emulator) -> None:
    assert voiceapi_emulator.config.conversion_error_rate == 1.0
    assert len(voiceapi_emulator.users) == 3 and voiceapi_emulator.config.original_delay == 0.05
    assert not voiceapi_emulator.config.rate_limits.enabled
    assert voiceapi_emulator.base_url.startswith("http://127.0.0.1:")


def test_route_names_cover_the_47_operations() -> None:
    keys = [k for ks in ROUTE_NAMES.values() for k in ks]
    # 47 operations of the reference + POST /api/auth + the POST twins of the two stats GETs + files
    # + 4 of the OpenAPI only (narration-style samples, notes of a folder, calibration rename, health).
    assert len(keys) == 47 + 1 + 2 + 1 + 4
    assert ROUTE_NAMES["orders.create"] == ["POST /api/v2/orders"]


def test_command_line_config() -> None:
    args = build_parser().parse_args(
        ["--port", "0", "--seed", "7", "--processing-delay", "0.1", "--error-rate", "0.2", "--slow-limit", "20/1"]
    )
    cfg = config_from_args(args)
    assert cfg.port == 0 and cfg.seed == 7 and cfg.original_delay == 0.1 and cfg.conversion_delay == (0.1, 0.2)
    assert cfg.faults.error_rate == 0.2 and cfg.rate_limits.slow == RateRule(20, 1.0)


async def test_seeded_catalogue_and_users_are_deterministic() -> None:
    async with Emulator(fast(seed=3)) as a, Emulator(fast(seed=3)) as b, Emulator(fast(seed=4)) as c:
        assert [u.api_key for u in a.users] == [u.api_key for u in b.users]
        assert [v.name for v in a.store.catalogue.voices] == [v.name for v in b.store.catalogue.voices]
        assert [v.id for v in a.store.catalogue.voices] != [v.id for v in c.store.catalogue.voices]
        assert len({v.name for v in a.store.catalogue.voices}) == 60


async def test_named_voices_are_the_same_whatever_the_seed() -> None:
    async with Emulator(fast(seed=3)) as a, Emulator(fast(seed=4)) as b:
        named = [v for v in a.store.catalogue.voices if v.name in NAMED_VOICES]
        assert [v.name for v in named] == list(NAMED_VOICES) == ["Aurora", "Basil Stone", "Celeste", "Orion"]
        assert [v.name for v in a.store.catalogue.voices].count("Basil Stone") == 1  # not generated again
        other = {v.name: v for v in b.store.catalogue.voices}
        for voice in named:
            assert other[voice.name] == voice  # same id, accents, styles
            assert voice.visibility == "public" and voice.available

"""Orders, conversions, retries, credits, stats, exports and validation errors."""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import aiohttp
import msgspec
import pytest

from voiceapi_async._models import Order, Recording, UserStats
from voiceapi_async.emulator import Emulator, ManualClock

from .conftest import fast, make_folder, parse_wav, session, upload, wav_bytes


async def _voices(s: aiohttp.ClientSession, n: int = 3) -> list[dict[str, Any]]:
    return list((await (await s.get("/api/v2/voices", params={"limit": n})).json())["list"])


async def _original(s: aiohttp.ClientSession, seconds: float = 1.0) -> tuple[str, str, dict[str, Any]]:
    pid, fid = await make_folder(s)
    rec = await (await upload(s, fid, wav_bytes(seconds), filename="orig.wav")).json()
    return pid, fid, rec


async def test_order_to_done_real_audio_credits_stats(emu: Emulator, clock: ManualClock) -> None:
    async with session(emu) as s:
        pid, fid, orig = await _original(s, 1.0)
        v = await _voices(s)
        r = await s.post(
            "/api/v2/orders",
            json={
                "original_id": orig["id"],
                "conversions": [
                    {"voice_id": v[0]["id"], "label": "first"},
                    {"voice_id": v[0]["id"], "semitones_correction": 5, "accent_id": v[0]["accents"][0]["id"]},
                    {"voice_id": v[1]["id"]},
                ],
            },
        )
        assert r.status == 200, await r.text()
        orders = msgspec.json.decode(await r.read(), type=list[Order])
        assert len(orders) == 3 and all(o.original_id == orig["id"] and o.state == "new" for o in orders)
        conv = msgspec.json.decode(
            await (await s.get(f"/api/recordings/{orders[0].conversion_id}")).read(), type=Recording
        )
        assert conv.type == "converted" and conv.state == "processing" and conv.url is None
        assert conv.project_id == pid and conv.parent_folder_id == fid and conv.original_id == orig["id"]
        assert conv.model_id == v[0]["id"] and conv.model_name == v[0]["name"] and conv.label == "first"
        assert (await (await s.get("/api/credits")).json())["credits"] == 36000 - 3
        stats = msgspec.json.decode(await (await s.get("/api/stats")).read(), type=UserStats)
        assert stats.conversions.total == 3 and stats.conversions.in_progress == 3 and stats.time_converted.total == 0
        # The original finishes at +1 s, so conversions (2-3 s) finish between +3 and +4 s.
        clock.advance(2.9)
        assert (await (await s.get(f"/api/recordings/{orders[0].conversion_id}")).json())["state"] == "processing"
        clock.advance(1.2)
        page = await (await s.get("/api/recordings/conversions", params={"original_id": orig["id"]})).json()
        assert page["pagination"]["count"] == 3 and {c["state"] for c in page["list"]} == {"done"}
        audio = []
        for o in orders:
            c = await (await s.get(f"/api/recordings/{o.conversion_id}")).json()
            r = await s.get(c["url"])
            assert r.headers["Content-Type"] == "audio/wav"
            info = parse_wav(await r.read())
            assert abs(info["duration"] - 1.0) < 0.01
            audio.append(info["data"])
        assert len(set(audio)) == 3  # content depends on the voice and the semitones
        stats = msgspec.json.decode(await (await s.get("/api/stats")).read(), type=UserStats)
        assert stats.conversions.completed == 3 and stats.time_converted.total == 3.0
        assert {m.id: m.conversions_count for m in stats.models} == {v[0]["id"]: 2, v[1]["id"]: 1}
        for method in ("GET", "POST"):
            ps = await (await s.request(method, "/api/stats/projects", json={"project_ids": [pid]})).json()
            assert ps == [
                {
                    "project_id": pid,
                    "time_converted": {"total": 3.0, "current_month": 3.0},
                    "conversions": {"total": 3, "completed": 3, "in_progress": 0, "failed": 0},
                }
            ]
            fs = await (await s.request(method, "/api/stats/folders", json={"folder_ids": [fid]})).json()
            assert fs == [{"folder_id": fid, "stats": {"total": 3, "completed": 3, "in_progress": 0, "failed": 0}}]
        r = await s.post("/api/stats/folders", json={"folder_ids": [fid] * 201})
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "folder_ids"]
        snap = emu.counters.snapshot()
        assert (
            snap["orders_total"] == 1
            and snap["conversions_created"] == 3
            and snap["orders_by_original"] == {orig["id"]: 1}
        )
        assert snap["credits_spent"] == 3.0


async def test_small_audio_is_served_from_memory_as_from_a_file(emu: Emulator, clock: ManualClock) -> None:
    """A tiny upload and its conversion are answered without a file; a ranged request reads the same bytes from one."""
    async with session(emu) as s:
        _, _, orig = await _original(s, 0.1)
        v = await _voices(s, 1)
        body = {"original_id": orig["id"], "conversions": [{"voice_id": v[0]["id"], "semitones_correction": 3}]}
        [order] = await (await s.post("/api/v2/orders", json=body)).json()
        clock.advance(5)
        conv = await (await s.get(f"/api/recordings/{order['conversion_id']}")).json()
        r = await s.get(conv["url"])
        whole = await r.read()
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        assert int(r.headers["Content-Length"]) == len(whole) and abs(parse_wav(whole)["duration"] - 0.1) < 0.01
        assert parse_wav(whole)["data"] != parse_wav(wav_bytes(0.1))["data"]  # pitch-shifted
        assert not os.listdir(emu.data_dir)
        r = await s.get(conv["url"], headers={"range": "bytes=10-"})
        assert r.status == 206 and await r.read() == whole[10:]
        assert (await s.get(conv["url"])).headers["Content-Length"] == str(len(whole))
        r = await s.get(orig["url"])
        assert r.headers["Content-Type"] == "audio/wav" and await r.read() == wav_bytes(0.1)


async def test_order_error_refund_and_retry(emu: Emulator, clock: ManualClock) -> None:
    emu.config.conversion_error_rate = 1.0
    async with session(emu) as s:
        _, _, orig = await _original(s, 2.0)
        v = await _voices(s)
        orders = await (
            await s.post("/api/v2/orders", json={"original_id": orig["id"], "conversions": [{"voice_id": v[0]["id"]}]})
        ).json()
        cid = orders[0]["conversion_id"]
        assert (await s.post(f"/api/v2/orders/retry/{cid}")).status == 400  # still processing
        clock.advance(5)
        conv = await (await s.get(f"/api/recordings/{cid}")).json()
        assert conv["state"] == "error" and conv["error"]
        assert (await (await s.get("/api/credits")).json())["credits"] == 36000  # refunded
        assert (await s.get(f"/api/files/{cid}/{conv['file_name']}")).status == 404
        stats = await (await s.get("/api/stats")).json()
        assert stats["conversions"]["failed"] == 1
        emu.config.conversion_error_rate = 0.0
        r = await s.post(f"/api/v2/orders/retry/{cid}")
        order = msgspec.json.decode(await r.read(), type=Order)
        assert r.status == 200 and order.conversion_id == cid
        assert (await (await s.get(f"/api/recordings/{cid}")).json())["state"] == "processing"
        assert (await (await s.get("/api/credits")).json())["credits"] == 36000 - 2
        clock.advance(5)
        assert (await (await s.get(f"/api/recordings/{cid}")).json())["state"] == "done"
        assert (await s.post(f"/api/v2/orders/retry/{cid}")).status == 400
        assert (await s.post(f"/api/v2/orders/retry/{orig['id']}")).status == 400
        assert emu.counters.retries_total == 1


async def test_insufficient_credits_402_creates_nothing() -> None:
    async with Emulator(fast(initial_credits=5.0)) as emu, session(emu) as s:
        _, _, orig = await _original(s, 2.0)
        v = await _voices(s)
        conversions = [{"voice_id": v[i]["id"]} for i in range(3)]
        r = await s.post("/api/v2/orders", json={"original_id": orig["id"], "conversions": conversions})
        assert r.status == 402 and await r.json() == {"detail": "Insufficient credits"}
        page = await (await s.get("/api/recordings/conversions", params={"original_id": orig["id"]})).json()
        assert page["pagination"]["count"] == 0 and emu.counters.conversions_created == 0
        r = await s.post("/api/v2/orders", json={"original_id": orig["id"], "conversions": conversions[:2]})
        assert r.status == 200 and (await (await s.get("/api/credits")).json())["credits"] == 1.0


async def test_order_validation(emu: Emulator, clock: ManualClock) -> None:
    async with session(emu) as s:
        _, fid, orig = await _original(s)
        v = await _voices(s, 2)

        async def order(original: str, conv: dict[str, Any]) -> aiohttp.ClientResponse:
            return await s.post("/api/v2/orders", json={"original_id": original, "conversions": [conv]})

        r = await order(orig["id"], {"voice_id": "9" * 8 + "-9999-4999-8999-" + "9" * 12})
        assert r.status == 400
        r = await order(orig["id"], {"voice_id": v[0]["id"], "accent_id": v[1]["accents"][0]["id"]})
        assert r.status == 400
        r = await order(orig["id"], {"voice_id": "not-a-uuid"})
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "conversions", 0, "voice_id"]
        r = await s.post("/api/v2/orders", json={"original_id": orig["id"]})
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "conversions"]
        tts = await (
            await s.post("/api/v2/recordings/tts", json={"parent_folder_id": fid, "text": "hello world"})
        ).json()
        r = await order(tts["id"], {"voice_id": v[0]["id"]})
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == [
            "body",
            "conversions",
            0,
            "narration_style_id",
        ]
        r = await order(tts["id"], {"voice_id": v[0]["id"], "narration_style_id": v[1]["narration_styles"][0]["id"]})
        assert r.status == 400
        r = await order(tts["id"], {"voice_id": v[0]["id"], "narration_style_id": v[0]["narration_styles"][0]["id"]})
        assert r.status == 200
        clock.advance(10)
        conv = await (await s.get(f"/api/recordings/{(await r.json())[0]['conversion_id']}")).json()
        parse_wav(await (await s.get(conv["url"])).read())
        assert emu.counters.orders_total == 1


async def test_exports_are_zips_honouring_starred_only(emu: Emulator, clock: ManualClock) -> None:
    async with session(emu) as s:
        pid, _, orig = await _original(s, 0.5)
        v = await _voices(s)
        orders = await (
            await s.post(
                "/api/v2/orders", json={"original_id": orig["id"], "conversions": [{"voice_id": x["id"]} for x in v]}
            )
        ).json()
        clock.advance(10)
        starred = orders[1]["conversion_id"]
        await s.patch(f"/api/recordings/{starred}", json={"starred": True})
        r = await s.get("/api/recordings/export", params={"original_id": orig["id"]})
        assert r.status == 200 and r.headers["Content-Type"] == "application/zip"
        assert (
            r.headers["Content-Disposition"].startswith("attachment; filename=")
            and '.zip"' in r.headers["Content-Disposition"]
        )
        with zipfile.ZipFile(io.BytesIO(await r.read())) as zf:
            assert len(zf.namelist()) == 3
            for name in zf.namelist():
                parse_wav(zf.read(name))
        r = await s.get("/api/recordings/export", params={"original_id": orig["id"], "starred_only": "true"})
        with zipfile.ZipFile(io.BytesIO(await r.read())) as zf:
            starred_name = (await (await s.get(f"/api/recordings/{starred}")).json())["file_name"]
            assert zf.namelist() == [starred_name]
        r = await s.get(f"/api/projects/{pid}/export")
        with zipfile.ZipFile(io.BytesIO(await r.read())) as zf:
            assert sorted(zf.namelist())[0].startswith("F/") and len(zf.namelist()) == 4
        r = await s.get(f"/api/projects/{pid}/export", params={"starred_only": "true"})
        with zipfile.ZipFile(io.BytesIO(await r.read())) as zf:
            assert zf.namelist() == [f"F/{starred_name}"]


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "loc"),
    [
        ("GET", "/api/calibration", {"limit": 201}, None, ["query", "limit"]),
        ("GET", "/api/folders", {"project_id": "P", "limit": 201}, None, ["query", "limit"]),
        ("GET", "/api/recordings", {"folder_id": "F", "limit": 201}, None, ["query", "limit"]),
        ("GET", "/api/projects", {"limit": 101}, None, ["query", "limit"]),
        ("GET", "/api/v2/voices", {"limit": 101}, None, ["query", "limit"]),
        ("GET", "/api/v2/voices/search", {"name": "ab", "limit": 11}, None, ["query", "limit"]),
        ("GET", "/api/v2/voices/search", {"name": "a"}, None, ["query", "name"]),
        ("GET", "/api/projects", {"offset": -1}, None, ["query", "offset"]),
        ("GET", "/api/projects", {"limit": "x"}, None, ["query", "limit"]),
        ("GET", "/api/projects", {"sort": "size"}, None, ["query", "sort"]),
        ("GET", "/api/v2/voices", {"sort": "size"}, None, ["query", "sort"]),
        ("GET", "/api/projects", {"direction": "up"}, None, ["query", "direction"]),
        ("GET", "/api/v2/voices", {"gender": "robot"}, None, ["query", "gender"]),
        ("GET", "/api/v2/voices", {"age_group": "old"}, None, ["query", "age_group"]),
        ("GET", "/api/folders", {}, None, ["query", "project_id"]),
        ("GET", "/api/recordings/conversions", {}, None, ["query", "original_id"]),
        ("GET", "/api/recordings/12345", {}, None, ["path", "recording_id"]),
        ("GET", "/api/folders/not-a-uuid", {}, None, ["path", "folder_id"]),
        ("POST", "/api/folders", {}, {"name": "x"}, ["body", "project_id"]),
        ("POST", "/api/projects", {}, {"owner": "U"}, ["body", "name"]),
        ("POST", "/api/v2/recordings/tts", {}, {"parent_folder_id": "F", "text": ""}, ["body", "text"]),
        ("POST", "/api/v2/recordings/tts", {}, {"parent_folder_id": "F", "text": "x" * 1001}, ["body", "text"]),
        (
            "POST",
            "/api/v2/recordings/tts",
            {},
            {"parent_folder_id": "F", "text": "x", "label": "a/b"},
            ["body", "label"],
        ),
        (
            "POST",
            "/api/v2/recordings/tts",
            {},
            {"parent_folder_id": "F", "text": "x", "label": "a" * 41},
            ["body", "label"],
        ),
        ("POST", "/api/v2/recordings/tts", {}, {"parent_folder_id": "F", "text": 5}, ["body", "text"]),
        ("PATCH", "/api/recordings/R", {}, {"label": "bad!"}, ["body", "label"]),
        ("POST", "/api/notes", {}, {"recording_id": "R", "text": "x" * 2001}, ["body", "text"]),
        ("POST", "/api/stats/projects", {}, {"project_ids": ["nope"]}, ["body", "project_ids", 0]),
        ("POST", "/api/v2/voices/favorite/V", {}, {}, ["body", "favorite"]),
        ("POST", "/api/login", {}, {"email": "x"}, ["body", "password"]),
    ],
)
async def test_validation_422(
    emu: Emulator, method: str, path: str, params: dict[str, Any], body: Any, loc: list[Any]
) -> None:
    async with session(emu) as s:
        pid, fid, rec = await _original(s, 0.1)
        me = emu.users[0].id
        voice = (await _voices(s, 1))[0]["id"]
        ids = {"P": pid, "F": fid, "R": rec["id"], "U": me, "V": voice}

        def fill(x: Any) -> Any:
            if isinstance(x, dict):
                return {k: fill(v) for k, v in x.items()}
            return ids.get(x, x) if isinstance(x, str) else x

        path = "/".join(ids.get(part, part) for part in path.split("/"))
        r = await s.request(method, path, params=fill(params), json=fill(body) if body is not None else None)
        detail = (await r.json())["detail"]
        assert r.status == 422, detail
        assert loc in [d["loc"] for d in detail]
        assert all(d["msg"] and d["type"] for d in detail)


async def test_upload_validation(emu: Emulator) -> None:
    async with session(emu) as s:
        _, fid = await make_folder(s)
        r = await upload(s, fid, wav_bytes(0.1), microphone=None)
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "microphone"]
        r = await upload(s, fid, None)
        assert r.status == 422 and ["body", "data"] in [d["loc"] for d in (await r.json())["detail"]]
        r = await upload(s, "nope", wav_bytes(0.1))
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "parent_folder_id"]
        r = await upload(s, fid, wav_bytes(0.1), label="x" * 41)
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "label"]
        r = await upload(s, fid, wav_bytes(0.1), label="ok label-1")
        assert r.status == 200
        assert emu.counters.uploads_total == 1

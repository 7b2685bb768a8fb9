"""Auth, isolation, pagination, uploads, downloads, TTS, notes, calibrations, voices."""

from __future__ import annotations

import struct

import aiohttp
import msgspec

from voiceapi_async._models import Calibration, Recording, RecordingPage, TTSVoice, Voice, VoicePage
from voiceapi_async.emulator import Emulator, ManualClock

from .conftest import fast, make_folder, parse_wav, session, upload, wav_bytes


async def test_api_key_auth(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url) as anon:
        r = await anon.get("/api/projects")
        assert r.status == 401 and await r.json() == {"detail": "Not authenticated"}
        r = await anon.get("/api/projects", headers={"api-key": "nope"})
        assert r.status == 401
    async with session(emu) as s:
        r = await s.post("/api/auth")
        me = await r.json()
        assert r.status == 200 and me["id"] == emu.users[0].id and me["email"] == emu.users[0].email
        assert me["data"]["rate_limits"] == {
            "fast": {"times": 500, "seconds": 300},
            "slow": {"times": 100, "seconds": 300},
        }


async def test_login_cookie_csrf_logout(emu: Emulator) -> None:
    u = emu.users[1]
    # aiohttp's default cookie jar ignores cookies of IP hosts such as 127.0.0.1: unsafe=True.
    async with aiohttp.ClientSession(base_url=emu.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        r = await s.post("/api/login", json={"email": u.email, "password": "wrong"})
        assert r.status == 404 and "detail" in await r.json()
        r = await s.post("/api/login", json={"email": u.email, "password": u.password})
        assert r.status == 200
        body = await r.json()
        assert body["user"]["id"] == u.id and body["csrf_token"]
        cookie = r.headers["Set-Cookie"]
        assert "session_id=" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
        r = await s.get("/api/credits")
        assert r.status == 403 and await r.json() == {"detail": "CSRF token missing or invalid"}
        r = await s.get("/api/credits", headers={"X-Csrf-Token": "bad"})
        assert r.status == 403
        csrf = {"X-Csrf-Token": body["csrf_token"]}
        r = await s.get("/api/credits", headers=csrf)
        assert r.status == 200 and (await r.json())["credits"] == 36000
        r = await s.post("/api/logout", headers=csrf)
        assert r.status == 200
        r = await s.get("/api/credits", headers=csrf, cookies={"session_id": cookie.split("=", 1)[1].split(";")[0]})
        assert r.status == 401


async def test_session_expiry_by_ttl(emu: Emulator, clock: ManualClock) -> None:
    u = emu.users[0]
    async with aiohttp.ClientSession(base_url=emu.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        body = await (
            await s.post("/api/login", json={"email": u.email, "password": u.password, "session_duration": 60})
        ).json()
        csrf = {"X-Csrf-Token": body["csrf_token"]}
        assert (await s.post("/api/auth", headers=csrf)).status == 200
        clock.advance(61)
        r = await s.post("/api/auth", headers=csrf)
        assert r.status == 401 and await r.json() == {"detail": "Session expired"}


async def test_api_key_rotate_and_delete(emu: Emulator) -> None:
    async with session(emu) as s:
        r = await s.post("/api/api-key")
        new_key = (await r.json())["api_key"]
        assert r.status == 200 and new_key != emu.api_key
        assert (await s.get("/api/credits")).status == 401  # the old key is replaced
        headers = {"api-key": new_key}
        assert (await s.get("/api/credits", headers=headers)).status == 200
        assert (await s.delete("/api/api-key", headers=headers)).status == 200
        assert (await s.get("/api/credits", headers=headers)).status == 401


async def test_user_isolation(emu: Emulator) -> None:
    async with session(emu, 0) as a, session(emu, 1) as b:
        pid, fid = await make_folder(a)
        rec = await (await upload(a, fid, wav_bytes(0.2))).json()
        for path in (f"/api/folders/{fid}", f"/api/recordings/{rec['id']}", f"/api/files/{rec['id']}/take.wav"):
            r = await b.get(path)
            assert r.status == 404, path
            assert "take" not in await r.text()
        assert (await b.get("/api/folders", params={"project_id": pid})).status == 404
        assert (await b.get("/api/recordings", params={"folder_id": fid})).status == 404
        assert (await b.delete(f"/api/projects/{pid}")).status == 404
        assert (await b.post("/api/notes", json={"recording_id": rec["id"], "text": "x"})).status == 404
        assert (await (await b.get("/api/projects")).json())["pagination"]["count"] == 0
        stats = await (await b.post("/api/stats/projects", json={"project_ids": [pid]})).json()
        assert stats == []
        assert (await a.get(f"/api/folders/{fid}")).status == 200


async def test_pagination_to_the_end(emu: Emulator) -> None:
    async with session(emu) as s:
        pid, _ = await make_folder(s)
        for i in range(6):
            assert (await s.post("/api/folders", json={"name": f"f{i}", "project_id": pid})).status == 200
        seen: list[str] = []
        offset = 0
        while True:
            page = await (await s.get("/api/folders", params={"project_id": pid, "limit": 3, "offset": offset})).json()
            assert page["pagination"]["count"] == 7 and page["pagination"]["limit"] == 3
            seen += [f["name"] for f in page["list"]]
            offset += 3
            if offset >= page["pagination"]["count"]:
                break
        assert seen == ["f5", "f4", "f3", "f2", "f1", "f0", "F"]
        asc = await (await s.get("/api/folders", params={"project_id": pid, "direction": "asc", "limit": 2})).json()
        assert [f["name"] for f in asc["list"]] == ["F", "f0"]
        empty = await (await s.get("/api/folders", params={"project_id": pid, "offset": 50})).json()
        assert empty["list"] == [] and empty["pagination"]["count"] == 7


async def test_projects_sort_rename_by_url_delete(emu: Emulator) -> None:
    async with session(emu) as s:
        me = await (await s.post("/api/auth")).json()
        for name in ("beta", "Alpha", "gamma"):
            await s.post("/api/projects", json={"name": name, "owner": me["id"], "models": {}})
        page = await (await s.get("/api/projects", params={"sort": "name", "direction": "asc"})).json()
        assert [p["name"] for p in page["list"]] == ["Alpha", "beta", "gamma"]
        assert [p["name"] for p in (await (await s.get("/api/projects")).json())["list"]] == ["gamma", "Alpha", "beta"]
        p = page["list"][0]
        r = await s.patch(f"/api/projects/{p['id']}", json={"name": "Renamed"})
        assert (await r.json())["name"] == "Renamed"
        got = await (await s.get("/api/projects/by-url", params={"project_url": p["url"]})).json()
        assert got["id"] == p["id"] and got["name"] == "Renamed"
        assert (await s.get("/api/projects/by-url", params={"project_url": "nope"})).status == 404
        assert await (await s.delete(f"/api/projects/{p['id']}")).json() == {"id": p["id"]}
        assert (await s.get("/api/projects/by-url", params={"project_url": p["url"]})).status == 404
        r = await s.post("/api/projects", json={"name": "x", "owner": emu.users[1].id, "models": {}})
        assert r.status == 403


async def test_upload_processing_download_and_waveform(emu: Emulator, clock: ManualClock) -> None:
    data = wav_bytes(1.5)
    async with session(emu) as s:
        _, fid = await make_folder(s)
        r = await upload(s, fid, data, filename="my take.wav", label="take 1")
        rec = msgspec.json.decode(await r.read(), type=Recording)
        assert r.status == 200 and rec.state == "processing" and rec.duration == 1.5 and rec.size == len(data)
        assert (
            rec.url == f"/api/files/{rec.id}/my%20take.wav" and rec.waveform_url == f"/api/files/{rec.id}/waveform.json"
        )
        clock.advance(1)
        assert (await (await s.get(f"/api/recordings/{rec.id}")).json())["state"] == "done"
        r = await s.get(rec.url)
        assert r.status == 200 and r.headers["Content-Type"] == "audio/wav"
        assert int(r.headers["Content-Length"]) == len(data) and await r.read() == data
        w = await s.get(rec.waveform_url)
        assert w.headers["Content-Type"] == "application/json" and len((await w.json())["peaks"]) == 100
        assert (await s.get(f"/api/files/{rec.id}/other.wav")).status == 404
        async with aiohttp.ClientSession(base_url=emu.base_url) as anon:
            assert (await anon.get(rec.url)).status == 401
        r = await s.patch(f"/api/recordings/{rec.id}", json={"starred": True})
        assert (await r.json())["starred"] is True and (await r.json())["label"] == "take 1"
        r = await s.put(f"/api/recordings/{rec.id}", json={"label": "new", "starred": False})
        assert (await r.json())["label"] == "new"
        assert (await s.put(f"/api/recordings/{rec.id}", json={"label": "new"})).status == 422
        snap = emu.counters.snapshot()
        assert snap["uploads_total"] == 1 and snap["uploads_by_user_file"] == {f"{emu.users[0].id}:my take.wav": 1}
        assert snap["uploads_by_label"] == {"take 1": 1}
        assert await (await s.delete(f"/api/recordings/{rec.id}")).json() == [{"id": rec.id}]
        assert (await s.get(f"/api/recordings/{rec.id}")).status == 404


def _flac(seconds: float, rate: int = 16000) -> bytes:
    total = int(seconds * rate)
    packed = (rate << 44) | (0 << 41) | (15 << 36) | total
    info = struct.pack(">HH", 4096, 4096) + b"\0" * 6 + packed.to_bytes(8, "big") + b"\0" * 16
    return b"fLaC" + bytes([0x80, 0, 0, 34]) + info + b"\0" * 100


async def test_upload_sniffing_and_durations(emu: Emulator) -> None:
    async with session(emu) as s:
        _, fid = await make_folder(s)
        r = await upload(s, fid, b"hello, this is not audio at all", filename="a.txt")
        assert r.status == 400 and await r.json() == {"detail": "Unsupported audio format"}
        r = await upload(s, fid, _flac(2.5), filename="a.flac")
        assert (await r.json())["duration"] == 2.5
        mp3 = b"ID3" + b"\x04\0\0\0\0\0\0" + bytes([0xFF, 0xFB, 0x90, 0x00]) + b"\0" * 16000
        assert (await (await upload(s, fid, mp3, filename="a.mp3")).json())["duration"] == 1.0
        ogg = b"OggS" + b"\0" * 24 + b"\x01vorbis" + b"\0" * 5 + (44100).to_bytes(4, "little") + b"\0" * 40
        ogg += b"OggS\0\0" + (88200).to_bytes(8, "little") + b"\0" * 20
        assert (await (await upload(s, fid, ogg, filename="a.ogg")).json())["duration"] == 2.0
        r = await s.get((await (await upload(s, fid, _flac(1), filename="b.flac")).json())["url"])
        assert r.headers["Content-Type"] == "audio/flac"
        assert emu.counters.uploads_total == 4


async def test_upload_too_large_413() -> None:
    async with Emulator(fast(max_upload_size=10_000)) as emu, session(emu) as s:
        _, fid = await make_folder(s)
        r = await upload(s, fid, wav_bytes(2.0))
        assert r.status == 413
        assert emu.counters.uploads_total == 0
        assert (await upload(s, fid, wav_bytes(0.1))).status == 200


async def test_tts_v1_v2_real_wav(emu: Emulator, clock: ManualClock) -> None:
    async with session(emu) as s:
        pid, fid = await make_folder(s)
        voices = msgspec.json.decode(await (await s.get("/api/tts-voices")).read(), type=list[TTSVoice])
        assert len(voices) >= 3 and sum(v.is_default for v in voices) == 1
        short = await (
            await s.post("/api/v2/recordings/tts", json={"parent_folder_id": fid, "text": "Hi there"})
        ).json()
        long = await (
            await s.post(
                "/api/recordings/tts",
                json={
                    "project_id": pid,
                    "parent_folder_id": fid,
                    "voice_id": voices[1].id,
                    "text": "Hello " * 30,
                    "label": "v1",
                },
            )
        ).json()
        assert short["tts"] is True and short["text"] == "Hi there" and long["tts_voice_id"] == voices[1].id
        assert long["duration"] > 5 * short["duration"] > 0
        clock.advance(1)
        for rec in (short, long):
            raw = await (await s.get(rec["url"])).read()
            info = parse_wav(raw)
            assert info["format"] == 1 and abs(info["duration"] - rec["duration"]) < 0.01
            assert any(info["data"][i] for i in range(0, len(info["data"]), 97))
        assert emu.counters.tts_created == 2
        r = await s.post(
            "/api/recordings/tts",
            json={"project_id": fid, "parent_folder_id": fid, "voice_id": voices[0].id, "text": "x"},
        )
        assert r.status == 404


async def test_notes(emu: Emulator) -> None:
    async with session(emu) as s:
        _, fid = await make_folder(s)
        rec = await (await upload(s, fid, wav_bytes(0.1))).json()
        assert (await s.put("/api/notes", json={"recording_id": rec["id"], "text": "x"})).status == 404
        note = await (await s.post("/api/notes", json={"recording_id": rec["id"], "text": "first"})).json()
        assert note["recording_id"] == rec["id"] and note["text"] == "first"
        assert (await (await s.put("/api/notes", json={"recording_id": rec["id"], "text": "second"})).json())[
            "id"
        ] == note["id"]
        got = await (await s.get(f"/api/recordings/{rec['id']}")).json()
        assert got["note"] == {"id": note["id"], "text": "second", "active": True}
        deleted = await (await s.delete("/api/notes", json={"recording_id": rec["id"]})).json()
        assert deleted["text"] == "second"
        assert (await (await s.get(f"/api/recordings/{rec['id']}")).json())["note"] is None


async def test_calibrations(emu: Emulator, clock: ManualClock) -> None:
    async with session(emu) as s:
        fd = aiohttp.FormData()
        fd.add_field("name", "my voice")
        fd.add_field("data", wav_bytes(1.0, freq=150), filename="c.wav")
        r = await s.post("/api/calibration", data=fd)
        cal = msgspec.json.decode(await r.read(), type=Calibration)
        assert r.status == 200 and cal.state == "processing" and cal.user_id == emu.users[0].id
        assert (await s.put(f"/api/calibration/{cal.id}/enable")).status == 400
        clock.advance(1)
        got = msgspec.json.decode(await (await s.get(f"/api/calibration/{cal.id}")).read(), type=Calibration)
        assert got.state == "calibrated" and got.f0 is not None and 140 <= got.f0 <= 160
        assert (await (await s.put(f"/api/calibration/{cal.id}/enable")).json())["enabled"] is True
        page = await (await s.get("/api/calibration", params={"limit": 10})).json()
        assert page["pagination"]["count"] == 1 and page["list"][0]["enabled"] is True
        assert (await s.post("/api/calibration/auto")).status == 200
        assert (await (await s.get(f"/api/calibration/{cal.id}")).json())["enabled"] is False
        bad = aiohttp.FormData()
        bad.add_field("name", "bad/name!")
        bad.add_field("data", wav_bytes(0.1), filename="c.wav")
        r = await s.post("/api/calibration", data=bad)
        assert r.status == 422 and (await r.json())["detail"][0]["loc"] == ["body", "name"]
        assert (await (await s.delete(f"/api/calibration/{cal.id}")).json())["id"] == cal.id
        assert (await s.get(f"/api/calibration/{cal.id}")).status == 404
        assert emu.counters.calibrations_created == 1


async def test_voices_filters_search_favorite_settings_samples(emu: Emulator) -> None:
    async with session(emu) as s:
        page = msgspec.json.decode(await (await s.get("/api/v2/voices")).read(), type=VoicePage)
        assert page.pagination.count == 60 and len(page.list) == 25
        for v in page.list:
            assert 1 <= len(v.accents) <= 3 and sum(a.is_default for a in v.accents) == 1
            assert 1 <= len(v.narration_styles) <= 3
        r = await s.get("/api/v2/voices?gender=male&gender=female&limit=100")
        assert (await r.json())["pagination"]["count"] == 60
        males = await (await s.get("/api/v2/voices", params={"gender": "male", "limit": 100})).json()
        assert 0 < males["pagination"]["count"] < 60 and all(v["gender"] == "male" for v in males["list"])
        mix = await (await s.get("/api/v2/voices?visibility=public&visibility=kids&limit=100")).json()
        assert {v.get("visibility", "public") for v in mix["list"]} <= {"public", "kids"}
        by_pitch = await (
            await s.get("/api/v2/voices", params={"sort": "pitch", "direction": "asc", "limit": 100})
        ).json()
        pitches = [v.get("pitch", 0) for v in by_pitch["list"]]
        assert pitches == sorted(pitches)
        name = page.list[0].name
        found = msgspec.json.decode(
            await (await s.get("/api/v2/voices/search", params={"name": name.upper()[:5]})).read(), type=list[Voice]
        )
        assert name in [v.name for v in found] and len(found) <= 5
        voice = page.list[0]
        fav = await (await s.post(f"/api/v2/voices/favorite/{voice.id}", json={"favorite": True})).json()
        assert fav["favorite"] is True
        async with session(emu, 1) as other:
            theirs = await (await other.get("/api/v2/voices/search", params={"name": name})).json()
            assert theirs[0]["favorite"] is False
        accent = voice.accents[0]
        r = await s.post(
            "/api/v2/voices/settings", json={"voice_id": voice.id, "accent_id": accent.id, "semitones_correction": 3}
        )
        assert (await r.json())["accents"][0]["settings"] == {"favorite": True, "semitones_correction": 3.0}
        other_accent = page.list[1].accents[0].id
        r = await s.post("/api/v2/voices/settings", json={"voice_id": voice.id, "accent_id": other_accent})
        assert r.status == 404
        samples = await (await s.get("/api/v2/accents/samples", params={"accent_id": accent.id})).json()
        url = samples["samples"]["default"]
        parse_wav(await (await s.get(url)).read())
        assert (await s.get("/api/v2/accents/samples", params={"accent_id": voice.id})).status == 404


async def test_unknown_route_is_json_404(emu: Emulator) -> None:
    async with session(emu) as s:
        r = await s.get("/api/nope")
        assert r.status == 404 and await r.json() == {"detail": "Not Found"}


async def test_recordings_lists(emu: Emulator) -> None:
    async with session(emu) as s:
        pid, fid = await make_folder(s)
        ids = [(await (await upload(s, fid, wav_bytes(0.1), filename=f"{i}.wav")).json())["id"] for i in range(3)]
        by_folder = msgspec.json.decode(
            await (await s.get("/api/recordings", params={"folder_id": fid})).read(), type=RecordingPage
        )
        assert [r.id for r in by_folder.list] == ids[::-1]
        by_project = await (await s.get("/api/recordings", params={"project_id": pid, "direction": "asc"})).json()
        assert [r["id"] for r in by_project["list"]] == ids
        originals = await (
            await s.get("/api/recordings/originals", params={"folder_id": fid, "limit": 2, "offset": 1})
        ).json()
        assert [r["id"] for r in originals["list"]] == ids[1::-1] and originals["pagination"]["count"] == 3

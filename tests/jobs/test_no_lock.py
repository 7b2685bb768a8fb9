"""Nothing locks a folder but a real run of the same job: plans, dry runs and failed starts write nothing.

Voices resolve exactly (a near match is never paid for), and a journal of another job
says which options fix the clash.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from voiceapi_async import UnknownVoiceError as SDKUnknownVoiceError
from voiceapi_async import VoiceClient
from voiceapi_async._resources._voices import _close_names
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import (
    JOURNAL_NAME,
    BatchConvertJob,
    CostGuardError,
    JobStatus,
    JournalMismatchError,
    Target,
    TTSJob,
    UnknownVoiceError,
)

from .conftest import JOB_FAST, make_client
from .helpers import make_tree


async def test_plan_writes_nothing_and_the_run_after_it_reuses_its_checks(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 3)
    out = tmp_path / "out"
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST)
    plan = await job.plan()
    assert plan.items == 3
    assert not out.exists()  # no journal, not even the directory
    searches = emu.counters.snapshot()["requests_by_route"].get("voices.search", 0)
    summary = await job.run_to_completion()
    assert summary.status is JobStatus.COMPLETED and (out / JOURNAL_NAME).is_file()
    assert emu.counters.snapshot()["requests_by_route"].get("voices.search", 0) == searches  # resolved once


async def test_a_run_stopped_by_an_unknown_voice_or_the_cost_guard_leaves_no_journal(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    out = tmp_path / "out"
    with pytest.raises(UnknownVoiceError):
        await BatchConvertJob(client, tmp_path / "in", ["No Such Voice Zz"], out, **JOB_FAST).run_to_completion()
    assert not (out / JOURNAL_NAME).exists()
    emu.store.users[emu.users[0].id].credits = 0.01
    with pytest.raises(CostGuardError):
        await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
    assert not (out / JOURNAL_NAME).exists()
    emu.store.users[emu.users[0].id].credits = 1000.0
    # The corrected command simply runs: nothing locked the folder.
    summary = await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
    assert summary.status is JobStatus.COMPLETED and summary.done == 2


async def test_tts_plan_writes_nothing(tmp_path: Path, client: VoiceClient, voice_names: list[str]) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("One line.\nAnother line.\n")
    plan = await TTSJob(client, lines, tmp_path / "spoken", targets=voice_names[:1], **JOB_FAST).plan()
    assert plan.items == 2 and not (tmp_path / "spoken").exists()


async def test_resolve_takes_exact_names_or_ids_and_suggests_close_ones(
    client: VoiceClient, voice_names: list[str]
) -> None:
    name = next(n for n in voice_names if " " in n)
    voice = await client.voices.resolve(name.upper())
    assert voice.name == name
    assert (await client.voices.resolve(voice.id)).id == voice.id
    # One letter short is not the voice ("Cedar Grov" is not "Cedar Grove"): an error suggesting it.
    with pytest.raises(SDKUnknownVoiceError) as short:
        await client.voices.resolve(name[:-1])
    assert name in short.value.suggestions and repr(name) in str(short.value)
    # Another second word ("Clover Wren" for "Clover Meadow"): the voices of that first name are suggested.
    first = name.split(" ", 1)[0]
    other = next(w for w in ("Wren", "Meadow", "Stone", "River") if f"{first} {w}" not in voice_names)
    with pytest.raises(SDKUnknownVoiceError) as wrong:
        await client.voices.resolve(f"{first} {other}")
    assert wrong.value.suggestions[0].startswith(f"{first} ")  # a shared word ranks first
    assert set(wrong.value.suggestions) <= set(voice_names)
    with pytest.raises(SDKUnknownVoiceError):
        await client.voices.resolve("00000000-0000-4000-8000-000000000000")


async def test_a_near_voice_name_fails_the_job_before_anything_is_sent(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 1)
    name = voice_names[0]
    job = BatchConvertJob(client, tmp_path / "in", [name[:-1]], tmp_path / "out", **JOB_FAST)
    with pytest.raises(UnknownVoiceError) as info:
        await job.run_to_completion()
    assert isinstance(info.value, SDKUnknownVoiceError) and name in info.value.suggestions
    assert emu.counters.snapshot()["uploads_total"] == 0


async def test_mismatch_names_the_fix_and_new_job_starts_over_keeping_the_old_journal(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    out = tmp_path / "out"
    async with make_client(emu) as client:
        await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
        # The same voice by id and in other case is the same job: it resumes (nothing to do).
        voice = await client.voices.resolve(voice_names[0])
        for same in (voice.id, voice_names[0].lower()):
            again = await BatchConvertJob(client, tmp_path / "in", [same], out, **JOB_FAST).run_to_completion()
            assert again.done == 2 and again.requests_by_endpoint.get("POST /api/recordings", 0) == 0
        other = BatchConvertJob(client, tmp_path / "in", voice_names[1:2], out, **JOB_FAST)
        with pytest.raises(JournalMismatchError) as info:
            await other.run_to_completion()
        message = str(info.value)
        # The API's message names the API's parameters (the CLI names its own options instead).
        assert "new_job=True" in message and "journal_path" in message and "--" not in message
        assert voice_names[1] in message and info.value.differences and voice_names[1] in info.value.differences
        fresh = BatchConvertJob(client, tmp_path / "in", voice_names[1:2], out, new_job=True, **JOB_FAST)
        summary = await fresh.run_to_completion()
    assert summary.status is JobStatus.COMPLETED and summary.done == 2
    kept = [p for p in out.iterdir() if p.name.startswith(f"{JOURNAL_NAME}.") and p.name.endswith(".old")]
    assert len(kept) == 1
    with sqlite3.connect(kept[0]) as db:
        assert db.execute("SELECT count(*) FROM items WHERE stage = 'done'").fetchone()[0] == 2
    assert emu.counters.snapshot()["uploads_total"] == 4  # the new job is another job: uploaded anew


async def test_journal_path_elsewhere(tmp_path: Path, client: VoiceClient, voice_names: list[str]) -> None:
    make_tree(tmp_path / "in", 1)
    journal = tmp_path / "journals" / "job.sqlite"
    job = BatchConvertJob(
        client, tmp_path / "in", [Target(voice_names[0])], tmp_path / "out", journal_path=journal, **JOB_FAST
    )
    assert (await job.run_to_completion()).done == 1
    assert journal.is_file() and not (tmp_path / "out" / JOURNAL_NAME).exists()


async def test_a_failed_new_job_start_keeps_the_old_journal_and_an_option_is_checked_first(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    out = tmp_path / "out"
    await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
    uploads = emu.counters.snapshot()["uploads_total"]
    # new_job=True with a voice that does not exist: nothing started, so the old job stays in place.
    with pytest.raises(UnknownVoiceError):
        await BatchConvertJob(
            client, tmp_path / "in", ["No Such Voice"], out, new_job=True, **JOB_FAST
        ).run_to_completion()
    assert (out / JOURNAL_NAME).is_file() and not list(out.glob(f"{JOURNAL_NAME}.*.old"))
    # An accent the voice does not have is refused before a journal or an upload exists.
    other = tmp_path / "other"
    bad_accent = [Target(voice_names[0], accent="Klingon")]
    with pytest.raises(UnknownVoiceError, match="no accent 'Klingon'"):
        await BatchConvertJob(client, tmp_path / "in", bad_accent, other, **JOB_FAST).run_to_completion()
    assert not other.exists() and emu.counters.snapshot()["uploads_total"] == uploads


async def test_a_plan_of_a_journaled_job_leaves_its_directory_untouched(
    tmp_path: Path, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    out = tmp_path / "out"
    await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).run_to_completion()
    make_tree(tmp_path / "in", 4)  # two more inputs: the plan prices what is left
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in out.iterdir()}
    plan = await BatchConvertJob(client, tmp_path / "in", voice_names[:1], out, **JOB_FAST).plan()
    assert plan.items == 4 and plan.remaining_charge < plan.estimated_charge
    assert {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in out.iterdir()} == before


def test_the_issues_example_clover_wren_suggests_clover_meadow() -> None:
    names = ["clover meadow", "cedar grove", "oliver wren", "aurora", "basil stone"]
    assert "clover meadow" in _close_names("clover wren", names)
    assert _close_names("cedar grov", names)[0] == "cedar grove"

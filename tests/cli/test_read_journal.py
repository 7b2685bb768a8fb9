"""read_journal(): the read-only view of a journal behind `status` and the reports."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.jobs.helpers import make_tree
from voiceapi_async import RateLimits, VoiceClient
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import JOURNAL_NAME, BatchConvertJob, Target, read_journal


async def test_items_in_chunks_with_outputs_and_no_writes(voiceapi_emulator: Emulator, tmp_path: Path) -> None:
    make_tree(tmp_path / "in", 60)
    (tmp_path / "in" / "broken.wav").write_bytes(b"nope")
    voices = [v.name for v in voiceapi_emulator.store.catalogue.voices[:2]]
    async with VoiceClient(
        api_key=voiceapi_emulator.api_key, base_url=voiceapi_emulator.base_url, rate_limits=RateLimits.disabled()
    ) as client:
        job = BatchConvertJob(
            client,
            tmp_path / "in",
            [voices[0], Target(voices[1], label="second")],
            tmp_path / "out",
            poll_interval=0.05,
        )
        summary = await job.run_to_completion()
    assert summary.done == 60

    journal = read_journal(tmp_path / "out")
    assert journal.path == tmp_path / "out" / JOURNAL_NAME
    assert journal.kind == "convert" and journal.targets == (voices[0], "second")
    assert journal.counts == {"done": 60, "failed": 1} and journal.total == 61 and journal.failed == 1
    assert journal.status == "completed_with_failures" and journal.unfinished == 0
    assert journal.outputs == {"downloaded": 120} and journal.max_outputs == 2
    [failure] = journal.failures()
    assert failure.name == "broken.wav" and failure.stage == "validate"

    items = list(journal.items(chunk=25))
    assert len(items) == 61 and len({i.key for i in items}) == 61
    done = [i for i in items if i.stage == "done"]
    assert all([o.target for o in i.outputs] == [voices[0], "second"] for i in done)
    assert {o.path for i in done for o in i.outputs} == set(summary.output_files)
    assert all(o.state == "downloaded" and o.size == Path(o.path or "").stat().st_size for i in done for o in i.outputs)

    # Reading neither writes nor leaves WAL files behind.
    before = (tmp_path / "out" / JOURNAL_NAME).read_bytes()
    list(read_journal(journal.path).items())
    assert (tmp_path / "out" / JOURNAL_NAME).read_bytes() == before
    assert not list((tmp_path / "out").glob(f"{JOURNAL_NAME}-*"))


def test_missing_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_journal(tmp_path)
    (tmp_path / "x.sqlite").write_bytes(b"not a database at all, just some bytes" * 10)
    with pytest.raises(ValueError, match="not a voiceapi-async job journal"):
        read_journal(tmp_path / "x.sqlite")
    db = sqlite3.connect(tmp_path / "other.sqlite")
    db.execute("CREATE TABLE t (x)")
    db.close()
    with pytest.raises(ValueError, match="not a voiceapi-async job journal"):
        read_journal(tmp_path / "other.sqlite")

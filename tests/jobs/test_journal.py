"""The SQLite journal itself: stages stored as readable text, schema version checked on open."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from voiceapi_async.jobs import JournalVersionError, _journal, read_journal
from voiceapi_async.jobs._journal import SCHEMA_VERSION, Journal, NewItem
from voiceapi_async.jobs._stages import ItemStage, OutputStage, Step


async def _journal_with_one_item(path: Path) -> Journal:
    journal = await Journal(path).open()
    await journal.add_items([NewItem(key="k1", name="a.wav", source="/in/a.wav", rel="a.wav")])
    return journal


async def test_stages_are_stored_as_their_text_and_read_back_as_members(tmp_path: Path) -> None:
    journal = await _journal_with_one_item(tmp_path / "j.sqlite")
    try:
        [row] = await journal.items_in_stages([ItemStage.PENDING], 0, 10)
        await journal.set_stage(row.seq, ItemStage.CREATING, intent=True)
        await journal.set_created(row.seq, "orig-1")
        await journal.set_converting(row.seq, [(0, "conv-1")], 0)
        item = await journal.item(row.seq)
        [out] = await journal.outputs_of(row.seq)
        assert item.stage is ItemStage.CONVERTING and item.original_id == "orig-1" and item.intent_at is not None
        assert out.stage is OutputStage.PROCESSING and out.recording_id == "conv-1"
        await journal.set_output(row.seq, 0, OutputStage.FAILED, error="boom")
        assert await journal.settle_item(row.seq) is ItemStage.FAILED
        assert (await journal.item(row.seq)).error_stage == Step.CONVERT
    finally:
        await journal.close()
    db = sqlite3.connect(tmp_path / "j.sqlite")
    try:
        assert db.execute("SELECT stage, error_stage, error FROM items").fetchall() == [("failed", "convert", "boom")]
        assert db.execute("SELECT stage FROM outputs").fetchall() == [("failed",)]
    finally:
        db.close()
    assert f"{ItemStage.DONE}" == "done" and str(OutputStage.CONVERTED) == "converted"


@pytest.mark.parametrize(("stored", "found"), [(str(SCHEMA_VERSION + 1), SCHEMA_VERSION + 1), ("0", 0), (None, None)])
async def test_a_journal_of_another_schema_version_is_refused_untouched(
    tmp_path: Path, stored: str | None, found: int | None
) -> None:
    path = tmp_path / "j.sqlite"
    await (await _journal_with_one_item(path)).close()
    db = sqlite3.connect(path)
    if stored is None:
        db.execute("DELETE FROM meta WHERE key = 'schema_version'")
    else:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (stored,))
    db.commit()
    db.close()
    before = path.read_bytes()

    with pytest.raises(JournalVersionError) as info:
        await Journal(path).open()
    assert info.value.found == found and info.value.expected == SCHEMA_VERSION
    assert str(path) in str(info.value) and "another output directory" in str(info.value)
    if found is not None and found > SCHEMA_VERSION:
        assert "upgrade voiceapi-async" in str(info.value)
    with pytest.raises(JournalVersionError):
        read_journal(path)
    assert path.read_bytes() == before


async def test_concurrent_writes_share_one_commit_and_each_caller_is_answered_after_it(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = await Journal(path).open()
    try:
        await journal.add_items(
            [NewItem(key=f"k{i}", name=f"{i}.wav", source=f"/in/{i}.wav", rel=f"{i}.wav") for i in range(40)]
        )
        rows = await journal.items_in_stages([ItemStage.PENDING], 0, 100)
        await journal.counts()  # a scan commits what is open first
        commits, writes = journal.commits, journal.writes
        seen_by_another_connection: list[int] = []

        async def intent(seq: int) -> None:
            await journal.set_stage(seq, ItemStage.CREATING, intent=True)
            # What a request sent now relies on: the intent is committed, visible to any connection.
            other = sqlite3.connect(path)
            try:
                row = other.execute("SELECT stage, intent_at FROM items WHERE seq = ?", (seq,)).fetchone()
            finally:
                other.close()
            assert row[0] == "creating" and row[1] is not None
            seen_by_another_connection.append(seq)

        await asyncio.gather(*(intent(r.seq) for r in rows))
        assert sorted(seen_by_another_connection) == [r.seq for r in rows]
        assert journal.writes - writes == 40
        assert journal.commits - commits == 1  # all forty asked in one loop turn: one group commit
    finally:
        await journal.close()


async def test_a_failing_write_fails_alone_in_its_group(tmp_path: Path) -> None:
    journal = await _journal_with_one_item(tmp_path / "j.sqlite")
    try:
        [row] = await journal.items_in_stages([ItemStage.PENDING], 0, 10)
        good = journal.set_stage(row.seq, ItemStage.CREATING, intent=True)
        bad = journal.reopen_output(row.seq + 1000, 0)  # no such item: raises inside the transaction
        after = journal.set_meta({"after": 1})
        results = await asyncio.gather(good, bad, after, return_exceptions=True)
        assert results[0] is None and isinstance(results[1], TypeError) and results[2] is None
        assert (await journal.item(row.seq)).stage is ItemStage.CREATING
        assert await journal.get_meta("after") == 1
    finally:
        await journal.close()


async def test_a_plain_write_is_answered_at_once_and_committed_with_the_next_intent(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = await _journal_with_one_item(path)
    other = sqlite3.connect(path)

    def committed() -> tuple[str, str | None]:
        row = other.execute("SELECT stage, original_id FROM items").fetchone()
        return row[0], row[1]

    try:
        [row] = await journal.items_in_stages([ItemStage.PENDING], 0, 10)
        await journal.set_stage(row.seq, ItemStage.CREATING, intent=True)
        assert committed() == ("creating", None)  # an intent: durable when answered
        commits = journal.commits
        await journal.set_created(row.seq, "orig-1")
        assert (await journal.item(row.seq)).original_id == "orig-1"  # seen by the reads that follow
        for _ in range(3):  # turns of the loop: a plain write waits for an intent (or PLAIN_COMMIT_DELAY)
            await asyncio.sleep(0)
        assert committed() == ("creating", None) and journal.commits == commits
        await journal.set_converting(row.seq, [(0, "conv-1")], 0)
        await journal.set_output(row.seq, 0, OutputStage.RETRYING)  # a retry's intent: commits what came before
        assert committed() == ("converting", "orig-1") and journal.commits == commits + 1
        assert other.execute("SELECT stage FROM outputs").fetchone()[0] == "retrying"
    finally:
        other.close()
        await journal.close()


async def test_a_plain_write_without_an_intent_is_committed_after_plain_commit_delay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_journal, "PLAIN_COMMIT_DELAY", 0.0)  # the timer fires at the next turns of the loop
    path = tmp_path / "j.sqlite"
    journal = await _journal_with_one_item(path)
    other = sqlite3.connect(path)
    try:
        [row] = await journal.items_in_stages([ItemStage.PENDING], 0, 10)
        for _ in range(3):
            await asyncio.sleep(0)
        assert other.execute("SELECT count(*) FROM items").fetchone()[0] == 1  # add_items: committed alone too
        commits = journal.commits
        await journal.set_original_state(row.seq, "done")
        assert other.execute("SELECT original_state FROM items").fetchone()[0] is None
        for _ in range(3):
            await asyncio.sleep(0)
        assert other.execute("SELECT original_state FROM items").fetchone()[0] == "done"
        assert journal.commits == commits + 1
    finally:
        other.close()
        await journal.close()


async def test_set_ordering_journals_the_original_and_the_order_intent_in_one_durable_write(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = await _journal_with_one_item(path)
    other = sqlite3.connect(path)
    statements: list[str] = []
    try:
        [row] = await journal.items_in_stages([ItemStage.PENDING], 0, 10)
        await journal.set_stage(row.seq, ItemStage.CREATING, intent=True)
        created_at = (await journal.item(row.seq)).intent_at
        writes = journal.writes
        journal.db.set_trace_callback(statements.append)
        await journal.set_ordering(row.seq, "orig-1")
        journal.db.set_trace_callback(None)
        assert journal.writes - writes == 1
        assert [s.split()[0] for s in statements] == ["BEGIN", "UPDATE", "COMMIT"]
        # An intent: committed (seen by another connection) when it returns, with the original's id.
        stage, original_id, intent_at = other.execute("SELECT stage, original_id, intent_at FROM items").fetchone()
        assert (stage, original_id) == ("ordering", "orig-1") and intent_at >= created_at
        item = await journal.item(row.seq)
        assert item.stage is ItemStage.ORDERING and item.original_id == "orig-1" and item.attempts == 0
    finally:
        other.close()
        await journal.close()

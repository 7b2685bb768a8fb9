"""voiceapi-async convert / tts / plan / status against an emulator process: outputs, reports, exit codes."""

from __future__ import annotations

import argparse
import csv
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import RunningEmulator, start_emulator
from tests.jobs.helpers import make_tree
from voiceapi_async._cli import EXIT_FAILED_ITEMS, build_parser, main

FAST = ["--plain", "--poll-interval", "0.05"]
LONG = " ".join(f"Sentence {i} of a long text, read aloud by the speech synthesiser." for i in range(25))


_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*[a-z]")


def assert_flags_exist(command: str, captured: pytest.CaptureResult[str]) -> set[str]:
    """Every ``--flag`` that ``command`` printed is one of its own options (returns those named)."""
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for action in subparsers.choices[command]._actions for o in action.option_strings}
    named = set(_FLAG.findall(captured.out + captured.err))
    assert named <= options, f"{command} printed options it does not take: {sorted(named - options)}"
    return named


def counters(emulator: RunningEmulator) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emulator.base_url}/_emulator/counters", timeout=5) as response:
        result: dict[str, Any] = json.load(response)
    return result


def voice_names(capsys: pytest.CaptureFixture[str], n: int = 2) -> list[str]:
    assert main(["voices", "--json", "--limit", str(n)]) == 0
    return [v["name"] for v in json.loads(capsys.readouterr().out)]


@pytest.fixture(scope="module")
def poor_emulator() -> Iterator[RunningEmulator]:
    """An account with one second of credits."""
    running = start_emulator("--processing-delay", "0.05", "--no-rate-limits", "--credits", "1")
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)


def test_convert_two_voices_with_a_corrupt_file(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voices = voice_names(capsys)
    make_tree(tmp_path / "in", 3)
    (tmp_path / "in" / "corrupt.wav").write_bytes(b"RIFF not really a wave file")
    out = tmp_path / "out"
    args = ["convert", str(tmp_path / "in"), "--voice", voices[0], "--voice", voices[1], "--out", str(out), *FAST]
    args += ["--semitones", "0", "--semitones", "-2"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "completed_with_failures" in captured.out and "corrupt.wav" in captured.out
    assert "failed: corrupt.wav (validate)" in captured.err
    assert len(list(out.glob("*.wav"))) == 6

    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "completed_with_failures" and report["summary"]["done"] == 3
    items = {item["name"]: item for item in report["items"]}
    assert items["corrupt.wav"]["stage"] == "failed" and items["corrupt.wav"]["error"]
    good = items["clip 000.wav"]
    assert good["stage"] == "done" and good["original_id"]
    assert [o["target"] for o in good["outputs"]] == voices
    assert all(Path(o["path"]).stat().st_size == o["size"] for o in good["outputs"])
    with (out / "report.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {r["output2_target"] for r in rows if r["stage"] == "done"} == {voices[1]}

    # The same command again: everything is journaled, nothing is sent twice, the exit code stays.
    before = counters(cli_env)
    assert main(args) == 1
    after = counters(cli_env)
    assert after["uploads_total"] == before["uploads_total"] and after["orders_total"] == before["orders_total"]


def test_convert_all_good_with_csv_report_and_json_summary(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = voice_names(capsys, 1)[0]
    make_tree(tmp_path / "in", 2, 1, subdirs=2)
    out, report = tmp_path / "out", tmp_path / "r.csv"
    args = ["convert", str(tmp_path / "in"), "--voice", voice, "--out", str(out), "--report", str(report)]
    assert main([*args, "--mirror-tree", "--json", "--poll-interval", "0.05"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["summary"]["status"] == "completed" and result["reports"] == [str(report)]
    assert len(result["summary"]["output_files"]) == 3
    assert report.is_file() and not (out / "report.json").exists()
    assert {p.parent.name for p in out.rglob("*.wav")} == {"d0", "d1"}


def test_unknown_voice_exits_2_before_any_upload(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "in", 2)
    before = counters(cli_env)["uploads_total"]
    assert main(["convert", str(tmp_path / "in"), "--voice", "No Such Voice", "--out", str(tmp_path / "o")]) == 2
    assert "no voice is named 'No Such Voice'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()  # nothing locks the folder: the corrected command just runs
    assert counters(cli_env)["uploads_total"] == before


def test_usage_errors_of_job_commands_exit_2(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "in", 1)
    base = ["convert", str(tmp_path / "in"), "--out", str(tmp_path / "o")]
    assert (
        main([*base, "--voice", "a", "--voice", "b", "--semitones", "1", "--semitones", "2", "--semitones", "3"]) == 2
    )
    assert "once per --voice" in capsys.readouterr().err
    assert main(["convert", str(tmp_path / "missing"), "--voice", "a", "--out", str(tmp_path / "o")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert main([*base, "--voice", voice_names(capsys, 1)[0], "--report", str(tmp_path / "r.txt")]) == 2
    assert ".json or .csv" in capsys.readouterr().err


def test_dry_run_and_plan_send_nothing(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voices = voice_names(capsys)
    make_tree(tmp_path / "in", 3, 1)
    before = counters(cli_env)
    dry = ["convert", str(tmp_path / "in"), "--voice", voices[0], "--out", str(tmp_path / "o"), "--dry-run", "--plain"]
    assert main(dry) == 0
    text = capsys.readouterr().out
    assert "estimated charge" in text and "affordable" in text
    assert main(["plan", str(tmp_path / "in"), "--voice", voices[0], "--voice", voices[1], "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["items"] == 4 and plan["conversions_per_item"] == 2 and plan["affordable"] is True
    assert plan["estimated_charge"] == pytest.approx(2 * plan["total_duration"])
    after = counters(cli_env)
    assert after["uploads_total"] == before["uploads_total"] and after["orders_total"] == before["orders_total"]
    assert not list((tmp_path / "o").glob("*.wav"))


def test_unaffordable_plan_exits_4_and_a_forced_run_stops_resumably(
    poor_emulator: RunningEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOICEAPI_BASE_URL", poor_emulator.base_url)
    monkeypatch.setenv("VOICEAPI_API_KEY", poor_emulator.api_key)
    voice = voice_names(capsys, 1)[0]
    make_tree(tmp_path / "in", 30)
    args = ["convert", str(tmp_path / "in"), "--voice", voice, "--out", str(tmp_path / "o"), *FAST]
    assert main(["plan", str(tmp_path / "in"), "--voice", voice, "--json"]) == 4
    captured = capsys.readouterr()
    assert json.loads(captured.out)["affordable"] is False
    assert "top up" in captured.err and not assert_flags_exist("plan", captured)  # plan takes no --force
    assert main(args) == 4
    captured = capsys.readouterr()
    assert "affordable" in captured.out and "--force" in assert_flags_exist("convert", captured)
    assert counters(poor_emulator)["uploads_total"] == 0

    assert main([*args, "--force"]) == 4  # 402 once the credits run out: a clean stop
    captured = capsys.readouterr()
    assert "run the same command again to resume" in captured.err
    assert "stopped" in captured.out
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["summary"]["status"] == "stopped" and len(report["items"]) == 30


def test_tts_from_jsonl_with_a_long_text(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = voice_names(capsys, 1)[0]
    lines = tmp_path / "lines.jsonl"
    lines.write_text(
        json.dumps({"text": "Hello from the command line.", "label": "greeting"}) + "\n" + json.dumps({"text": LONG})
    )
    out = tmp_path / "spoken"
    assert len(LONG) > 1000
    assert main(["tts", str(lines), "--voice", voice, "--out", str(out), *FAST]) == 0
    captured = capsys.readouterr()
    assert "completed" in captured.out
    report = json.loads((out / "report.json").read_text())
    assert [i["key"] for i in report["items"]] == ["1", "2.1", "2.2"]
    assert all(i["stage"] == "done" and len(i["outputs"]) == 1 for i in report["items"])
    slug = voice.replace(" ", "-")
    assert sorted(p.name for p in out.glob("*.wav")) == [f"1-greeting.{slug}.wav", f"2.{slug}.wav"]  # 2's parts joined
    assert main(["status", str(out), "--json"]) == 0  # what the user got: each file once, the joined one
    listed = [Path(f[0]).name for f in json.loads(capsys.readouterr().out)["output_files"]]
    assert sorted(listed) == [f"1-greeting.{slug}.wav", f"2.{slug}.wav"]


def test_status_reads_the_journal_offline(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = voice_names(capsys, 1)[0]
    make_tree(tmp_path / "in", 2)
    (tmp_path / "in" / "empty.wav").write_bytes(b"")
    out = tmp_path / "out"
    assert main(["convert", str(tmp_path / "in"), "--voice", voice, "--out", str(out), *FAST]) == 1
    capsys.readouterr()

    monkeypatch.delenv("VOICEAPI_API_KEY")
    monkeypatch.setenv("VOICEAPI_BASE_URL", "http://127.0.0.1:9")  # nothing listens: no API call may be made
    assert main(["status", str(out), "--json"]) == EXIT_FAILED_ITEMS  # a failed item: see the report
    status = json.loads(capsys.readouterr().out)
    assert status["status"] == "completed_with_failures" and status["counts"] == {"done": 2, "failed": 1}
    assert status["failures"][0]["name"] == "empty.wav" and status["failures"][0]["stage"] == "validate"
    assert len(status["output_files"]) == 2 and status["outputs"] == {"downloaded": 2}

    journal = out / ".voiceapi-job.sqlite"
    assert main(["status", str(journal), "--plain", "--report", str(tmp_path / "again.csv")]) == EXIT_FAILED_ITEMS
    text = capsys.readouterr().out
    assert "completed_with_failures" in text and "empty.wav" in text and voice in text
    assert len((tmp_path / "again.csv").read_text().splitlines()) == 4

    assert main(["status", str(tmp_path / "nowhere")]) == 2
    assert "no job journal" in capsys.readouterr().err


def test_dry_runs_and_plans_lock_nothing_and_mismatches_name_the_flags(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voices = voice_names(capsys)
    make_tree(tmp_path / "in", 2)
    lines = tmp_path / "lines.txt"
    lines.write_text("Hello there.\n")
    out = tmp_path / "o"
    assert main(["tts", str(lines), "--voice", voices[0], "--out", str(out), "--dry-run", *FAST]) == 0
    blank = tmp_path / "blank.txt"
    blank.write_text("\n")
    assert main(["tts", str(blank), "--voice", voices[0], "--out", str(out), "--dry-run", *FAST]) == 2
    captured = capsys.readouterr()
    assert "nothing to do" in captured.err and not assert_flags_exist("tts", captured) - {"--plain", "--dry-run"}
    assert main(["plan", str(tmp_path / "in"), "--voice", voices[0], "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["items"] == 2
    assert not out.exists()
    convert = ["convert", str(tmp_path / "in"), "--out", str(out), *FAST]
    assert main([*convert, "--voice", voices[0]]) == 0
    assert main([*convert, "--voice", voices[1]]) == 2
    captured = capsys.readouterr()
    assert {"--new-job", "--out", "--journal"} <= assert_flags_exist("convert", captured)
    assert "new_job=True" not in captured.err and "journal_path" not in captured.err  # API names: not options
    # plan takes no --new-job: it says how to price that job, or these inputs alone.
    assert main(["plan", str(tmp_path / "in"), "--voice", voices[1], "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "another job" in captured.err and {"--out", "--journal"} <= assert_flags_exist("plan", captured)
    assert main(["plan", str(tmp_path / "in"), "--voice", voices[1]]) == 0  # as it says: without --out
    capsys.readouterr()
    assert main([*convert, "--voice", voices[1], "--new-job"]) == 0
    assert len(list(out.glob(".voiceapi-job.sqlite.*.old"))) == 1
    journal = tmp_path / "j" / "job.sqlite"
    assert main([*convert, "--voice", voices[1], "--journal", str(journal), "--out", str(tmp_path / "o2")]) == 0
    assert journal.is_file() and not (tmp_path / "o2" / ".voiceapi-job.sqlite").exists()


def test_job_id_resumes_from_the_server_when_the_journal_is_lost(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = voice_names(capsys, 1)[0]
    make_tree(tmp_path / "in", 3)
    before = counters(cli_env)
    args = ["convert", str(tmp_path / "in"), "--voice", voice, "--job-id", "cli-archive", *FAST]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    capsys.readouterr()
    other = ["convert", str(tmp_path / "in"), "--voice", voice, "--job-id", "another", *FAST]
    assert main([*other, "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert "'cli-archive'" in captured.err and {"--new-job", "--out"} <= assert_flags_exist("convert", captured)
    for path in (tmp_path / "out").glob(".voiceapi-job.sqlite*"):
        path.unlink()  # the journal is lost (or the job moves to another machine)
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "out2"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    after = counters(cli_env)
    assert result["summary"]["done"] == 3
    assert after["uploads_total"] - before["uploads_total"] == 3  # uploaded once, by the first run
    assert after["orders_total"] - before["orders_total"] == 3
    assert len(list((tmp_path / "out2").rglob("*.wav"))) == 3  # the results, downloaded again


def test_a_job_shared_on_postgres_reports_where_each_output_is(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_url: str
) -> None:
    voice = voice_names(capsys, 1)[0]
    make_tree(tmp_path / "in", 3)
    report = tmp_path / "shared.json"
    args = ["convert", str(tmp_path / "in"), "--voice", voice, "--journal", postgres_url, *FAST]
    assert main([*args, "--out", str(tmp_path / "o")]) == 2  # a shared job needs a name
    assert "--job-id" in assert_flags_exist("convert", capsys.readouterr())
    name = f"cli-shared-{tmp_path.name}"
    assert main([*args, "--job-id", name, "--out", str(tmp_path / "o"), "--report", str(report)]) == 0
    outputs = json.loads(report.read_text())["outputs"]
    assert len(outputs) == 3
    assert all(Path(o["file"]).is_file() and Path(o["file"]).is_relative_to(tmp_path / "o") for o in outputs)
    assert not (tmp_path / "o" / ".voiceapi-job.sqlite").exists()  # the state is in PostgreSQL


def test_retry_failed_flag_reopens_final_failures(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    voice = voice_names(capsys, 1)[0]
    make_tree(tmp_path / "in", 2)
    (tmp_path / "in" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    args = ["convert", str(tmp_path / "in"), "--voice", voice, "--out", str(tmp_path / "o"), *FAST]
    assert main(args) == 1  # the broken file fails validation: final
    capsys.readouterr()
    (tmp_path / "in" / "broken.wav").write_bytes((tmp_path / "in" / "clip 000.wav").read_bytes())
    assert main(args) == 1  # still final without asking
    capsys.readouterr()
    assert main([*args, "--retry-failed"]) == 0  # checked again, uploaded, converted
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["summary"]["done"] == 3


@pytest.mark.parametrize(
    ("option", "value"), [("--max-retries", "-1"), ("--concurrency", "0"), ("--poll-interval", "0")]
)
def test_out_of_range_run_options_are_refused_naming_the_option(
    option: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "in", 1)
    args = ["convert", str(tmp_path / "in"), "--voice", "Aurora", "--out", str(tmp_path / "o"), option, value]
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert option in assert_flags_exist("convert", captured)  # not max_conversion_retries= or poll_interval
    assert not (tmp_path / "o").exists()

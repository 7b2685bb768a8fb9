"""The command line as a user meets it: help, hints, pipes, exit codes, colours."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.jobs.helpers import make_tree
from voiceapi_async import VoiceClient
from voiceapi_async._cli import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED_ITEMS,
    EXIT_INTERRUPTED,
    EXIT_NETWORK,
    EXIT_OK,
    EXIT_UNFINISHED,
    build_parser,
    main,
)
from voiceapi_async._cli._jobs import cmd_status
from voiceapi_async._cli._output import Output
from voiceapi_async._cli._progress import ProgressView
from voiceapi_async.emulator import Emulator
from voiceapi_async.emulator._cli import build_parser as build_emulator_parser
from voiceapi_async.jobs import JOURNAL_NAME, BatchConvertJob, Progress
from voiceapi_async.jobs._progress import RequestCounter, StageTracker

from .conftest import RunningEmulator, start_emulator


def test_emulator_prints_the_variables_to_export() -> None:
    running = start_emulator("--no-rate-limits")
    try:
        assert running.process.stdout is not None
        line = running.process.stdout.readline()
        assert line.split() == [
            "to",
            "use",
            "it:",
            "export",
            f"VOICEAPI_BASE_URL={running.base_url}",
            f"VOICEAPI_API_KEY={running.api_key}",
        ]
    finally:
        running.process.terminate()
        running.process.wait(timeout=10)


def _all_parsers() -> list[argparse.ArgumentParser]:
    parsers = [build_parser(), build_emulator_parser()]
    found: list[argparse.ArgumentParser] = []
    while parsers:
        parser = parsers.pop()
        found.append(parser)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers.extend(action.choices.values())
    return found


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
        for parser in _all_parsers()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def _options(command: str) -> set[str]:
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return {o for action in sub.choices[command]._actions for o in action.option_strings}


def test_commands_offer_only_the_options_that_do_something() -> None:
    # status reads a journal offline; demo talks to its own embedded emulator
    assert not {"--api-key", "--base-url", "--verbose"} & _options("status")
    assert {"--json", "--plain"} <= _options("status")
    assert not {"--api-key", "--base-url"} & _options("demo")
    assert {"--json", "--plain", "--verbose"} <= _options("demo")
    for command in ("convert", "tts", "plan", "voices", "credits", "stats"):
        assert {"--api-key", "--base-url", "--json", "--plain", "--verbose"} <= _options(command), command
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["status", "out/", "--api-key", "k"])
    assert exc.value.code == 2


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_cover_commands_and_options(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert "voiceapi-async" in script
    assert all(word in script for word in ("convert", "status", "demo", "--voice", "--retry-failed", "--out"))


def test_completion_script_is_valid_bash(tmp_path: Path) -> None:
    script = tmp_path / "complete.bash"
    done = subprocess.run(
        [sys.executable, "-m", "voiceapi_async._cli", "completion", "bash"], capture_output=True, text=True, check=True
    )
    script.write_text(done.stdout)
    checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_output_to_a_closed_pipe_ends_quietly(cli_env: RunningEmulator) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already read what it wanted
    try:
        done = subprocess.run(
            [sys.executable, "-m", "voiceapi_async._cli", "voices", "--plain"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.returncode == EXIT_BROKEN_PIPE
    assert done.stderr == ""


def test_connection_errors_name_the_host(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["credits", "--api-key", "k", "--base-url", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == EXIT_NETWORK
    assert f"could not reach 127.0.0.1:{port}" in err and "--base-url" in err


async def test_status_exit_code_tells_complete_failed_and_unfinished(
    voiceapi_emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "in", 3)
    async with VoiceClient(api_key=voiceapi_emulator.api_key, base_url=voiceapi_emulator.base_url) as client:
        await BatchConvertJob(
            client, tmp_path / "in", ["Aurora"], tmp_path / "out", poll_interval=0.05
        ).run_to_completion()
    out = str(tmp_path / "out")
    assert await cmd_status(build_parser().parse_args(["status", out, "--plain"]), Output(plain=True)) == EXIT_OK

    db = sqlite3.connect(tmp_path / "out" / JOURNAL_NAME)
    with db:
        db.execute("UPDATE items SET stage = 'created' WHERE seq = (SELECT min(seq) FROM items)")
    db.close()
    assert await cmd_status(build_parser().parse_args(["status", out, "--json"]), Output(plain=True)) == EXIT_UNFINISHED
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "incomplete"

    (tmp_path / "in2").mkdir()
    (tmp_path / "in2" / "broken.wav").write_bytes(b"nope")
    async with VoiceClient(api_key=voiceapi_emulator.api_key, base_url=voiceapi_emulator.base_url) as client:
        await BatchConvertJob(client, tmp_path / "in2", ["Aurora"], tmp_path / "out2").run_to_completion()
    args = build_parser().parse_args(["status", str(tmp_path / "out2"), "--plain"])
    assert await cmd_status(args, Output(plain=True)) == EXIT_FAILED_ITEMS


def _progress(**stages: int) -> Progress:
    done, failed = stages.get("done", 0), stages.get("failed", 0)
    return Progress(
        total=sum(stages.values()),
        stages=stages,
        done=done,
        failed=failed,
        requests=40,
        rate_limited=1,
        elapsed=10.0,
        rate=0.5,
        eta=12.0,
    )


def test_plain_line_and_rich_bars_show_the_same_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    progress = _progress(pending=2, uploading=1, created=2, ordering=1, converting=3, done=4, failed=2)
    plain_err = io.StringIO()
    plain = ProgressView(Output(stderr=plain_err, plain=True), created="uploaded", files=26, files_before=3)
    with plain:
        plain.on_progress(progress)
    line = plain_err.getvalue().splitlines()[-1]
    shown = {
        m[0]: (int(m[1]), int(m[2])) for m in re.findall(r"(items done|uploaded|ordered|downloaded) (\d+)/(\d+)", line)
    }

    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal: the live bars
    rich_view = ProgressView(Output(stderr=io.StringIO()), created="uploaded", files=26, files_before=3)
    with rich_view:
        rich_view.on_progress(progress)
        bars = {task.description: (int(task.completed), int(task.total or 0)) for task in rich_view._bars.tasks}
    assert (
        bars
        == shown
        == {
            "uploaded": (10, 13),  # created, ordering, converting and done items, of the 13 not failed
            "ordered": (7, 13),
            "downloaded": (3, 26),
            "items done": (4, 13),
        }
    )


def test_the_rate_on_resume_counts_only_this_runs_items() -> None:
    seen: list[Progress] = []
    tracker = StageTracker({"done": 1000, "created": 3}, RequestCounter(), seen.append)
    tracker.move("created", "done")
    tracker.move("created", "done")
    last = seen[-1]
    assert last.done == 1002
    assert last.rate * last.elapsed == pytest.approx(2)  # 2 items this run, not 1002
    assert last.eta == pytest.approx(1 / last.rate)  # one item left at this run's pace


def test_no_color_leaves_out_colour_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = io.StringIO()
    Output(stdout=coloured).table("t", ["a"], [("x",)])
    ProgressView(Output(stderr=coloured), created="uploaded", files=1).__enter__().__exit__(None, None, None)
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    out = Output(stdout=plain, stderr=plain)
    out.table("t", ["a"], [("x",)])
    view = ProgressView(out, created="uploaded", files=1)
    with view:
        view.on_progress(_progress(created=1))
    colour = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)[0-9;]*m")
    assert colour.search(coloured.getvalue())  # the check can see colours when they are there
    assert not colour.search(plain.getvalue())


def test_messages_wrap_at_word_boundaries_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "interrupted; what was done is journaled — run the same command again to resume " * 2
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("FORCE_COLOR", "1")
    terminal = io.StringIO()
    Output(stderr=terminal).message(text)
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in terminal.getvalue().splitlines()]
    assert len(lines) > 2 and all(len(line) <= 40 for line in lines)
    assert " ".join(line.strip() for line in lines).split() == text.split()  # no word cut in two

    monkeypatch.delenv("FORCE_COLOR")
    piped = io.StringIO()
    Output(stderr=piped).message(text)
    Output(stderr=piped, plain=True).message(text)
    assert piped.getvalue().splitlines() == [text.rstrip()] * 2 or piped.getvalue().splitlines() == [text] * 2


def test_plain_messages_wrap_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("COLUMNS", "30")
    err = Terminal()
    Output(stderr=err, plain=True).message("left for the next run: chapter-one.wav (uploading): 503 again")
    lines = err.getvalue().splitlines()
    assert len(lines) > 1 and all(len(line) <= 30 for line in lines)
    assert "chapter-one.wav" in err.getvalue()


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_prints_one_interrupted_line(presses: int, tmp_path: Path) -> None:
    emulator = start_emulator("--processing-delay", "0.5", "--no-rate-limits", "--latency", "0.05")
    try:
        env = {**os.environ, "VOICEAPI_BASE_URL": emulator.base_url, "VOICEAPI_API_KEY": emulator.api_key}
        make_tree(tmp_path / "in", 12)
        args = ["convert", str(tmp_path / "in"), "--voice", "Aurora", "--out", str(tmp_path / "out"), "--plain"]
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceapi_async._cli", *args, "--poll-interval", "0.05", "--concurrency", "2"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stderr is not None
        for line in process.stderr:  # the first progress line: the run has started
            if "items done" in line:
                break
        for _ in range(presses):
            process.send_signal(signal.SIGINT)
            time.sleep(0.05)
        rest = process.stderr.read()
        assert process.wait(timeout=60) == EXIT_INTERRUPTED, rest
        assert sum("interrupted" in line for line in rest.splitlines()) == 1, rest
        assert "run the same command again to resume" in rest
        assert "Traceback" not in rest
    finally:
        emulator.process.terminate()
        emulator.process.wait(timeout=10)

"""The command as a process: --help, Ctrl-C (exit 130, consistent journal, resumable) and the demo."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import RunningEmulator, start_emulator
from tests.jobs.helpers import make_tree
from voiceapi_async._cli import _demo, main
from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig

COMMANDS = ("convert", "tts", "plan", "status", "demo", "voices", "credits", "stats", "emulator")


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=90, cwd=cwd, env=env)


def test_help_lists_the_commands() -> None:
    module = run(sys.executable, "-m", "voiceapi_async._cli", "--help")
    assert module.returncode == 0
    assert all(command in module.stdout for command in COMMANDS)
    script = Path(sys.executable).with_name("voiceapi-async")
    if script.exists():
        assert run(str(script), "--help").stdout == module.stdout
    convert = run(sys.executable, "-m", "voiceapi_async._cli", "convert", "--help")
    assert all(flag in convert.stdout for flag in ("--voice", "--dry-run", "--report", "--mirror-tree", "--force"))


def test_ctrl_c_exits_130_with_a_consistent_journal_and_the_rerun_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator: RunningEmulator = start_emulator("--processing-delay", "0.3", "--no-rate-limits", "--latency", "0.03")
    try:
        env = {**os.environ, "VOICEAPI_BASE_URL": emulator.base_url, "VOICEAPI_API_KEY": emulator.api_key}
        monkeypatch.setenv("VOICEAPI_BASE_URL", emulator.base_url)
        monkeypatch.setenv("VOICEAPI_API_KEY", emulator.api_key)
        assert main(["voices", "--json", "--limit", "1"]) == 0
        voice = json.loads(capsys.readouterr().out)[0]["name"]
        make_tree(tmp_path / "in", 24)
        out = tmp_path / "out"
        args = ["convert", str(tmp_path / "in"), "--voice", voice, "--out", str(out), "--plain"]
        args += ["--poll-interval", "0.05", "--concurrency", "2"]
        process = subprocess.Popen(
            [sys.executable, "-m", "voiceapi_async._cli", *args], env=env, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        for line in process.stderr:  # the first progress line: the run has started
            if "items done" in line:
                break
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        rest = process.stderr.read()
        assert process.wait(timeout=30) == 130, rest
        assert "run the same command again to resume" in rest

        db = sqlite3.connect(out / ".voiceapi-job.sqlite")
        stages = dict(db.execute("SELECT stage, count(*) FROM items GROUP BY stage").fetchall())
        db.close()
        assert "creating" not in stages and "ordering" not in stages, stages
        assert stages.get("done", 0) < 24
        report = json.loads((out / "report.json").read_text())
        assert report["summary"]["status"] == "cancelled"

        assert main(args) == 0
        assert len(list(out.glob("*.wav"))) == 24
    finally:
        emulator.process.terminate()
        emulator.process.wait(timeout=10)


def test_demo_in_a_fresh_directory_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        _demo,
        "demo_config",
        lambda: EmulatorConfig(original_delay=0.02, conversion_delay=(0.02, 0.05), rate_limits=RateLimitConfig.off()),
    )
    assert main(["demo", "--plain"]) == 0
    first = capsys.readouterr()
    files = sorted((tmp_path / "demo-output").glob("*.wav"))
    assert len(files) == 10 and all(f.stat().st_size > 1000 for f in files)
    assert (tmp_path / "demo-output" / "report.json").is_file() and (tmp_path / "demo-output" / "report.csv").is_file()
    assert "10 converted files" in first.out and "results:" in first.out

    assert main(["demo", "--plain"]) == 0
    second = capsys.readouterr()
    assert "starting fresh" in second.err
    assert sorted((tmp_path / "demo-output").glob("*.wav")) == files

    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(tmp_path / "demo-output" / ".voiceapi-job.sqlite", other / ".voiceapi-job.sqlite")
    db = sqlite3.connect(other / ".voiceapi-job.sqlite")
    db.execute("""UPDATE meta SET value = '{"kind": "convert", "project": "mine"}' WHERE key = 'identity'""")
    db.commit()
    db.close()
    assert main(["demo", "--out", str(other)]) == 2  # never deletes another job's results
    assert "another job" in capsys.readouterr().err


@pytest.mark.slow
def test_make_demo_command_as_shipped(tmp_path: Path) -> None:
    """The real demo settings, as ``make demo`` runs them: exit 0 well under a minute, ten files."""
    started = time.monotonic()
    result = run(sys.executable, "-m", "voiceapi_async._cli", "demo", cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert elapsed < 45, elapsed
    assert len(list((tmp_path / "demo-output").glob("*.wav"))) == 10
    assert "results:" in result.stdout and "report" in result.stdout
    assert "429" in result.stdout

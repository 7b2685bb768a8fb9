"""voiceapi-async voices / credits / stats, exit codes and output."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import RunningEmulator
from voiceapi_async._cli import main


def test_credits(cli_env: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["credits", "--plain"]) == 0
    assert "credits: 36000 of 36000" in capsys.readouterr().out


def test_voices_filtered_as_json(cli_env: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices", "--gender", "female", "--age-group", "adult", "--json"]) == 0
    voices = json.loads(capsys.readouterr().out)
    assert voices and all(v["gender"] == "female" and v["age_group"] == "adult" for v in voices)


def test_voices_search_table(cli_env: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices", "--json", "--limit", "1"]) == 0
    name = json.loads(capsys.readouterr().out)[0]["name"]
    assert main(["voices", "--search", name, "--plain"]) == 0
    out = capsys.readouterr().out
    assert name in out and "narration styles" in out


def test_stats(cli_env: RunningEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--plain"]) == 0
    assert "completed" in capsys.readouterr().out


def test_bad_key_exits_3_without_leaking_it(
    cli_env: RunningEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOICEAPI_API_KEY", "wrong-key-SECRET-123")
    assert main(["credits"]) == 3
    captured = capsys.readouterr()
    assert "401" in captured.err and "SECRET" not in captured.err + captured.out


def test_missing_key_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("VOICEAPI_API_KEY", raising=False)
    assert main(["credits"]) == 2
    assert "VOICEAPI_API_KEY" in capsys.readouterr().err


def test_unreachable_api_exits_5(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VOICEAPI_API_KEY", "k")
    monkeypatch.setenv("VOICEAPI_BASE_URL", "http://127.0.0.1:9")
    assert main(["credits", "--plain"]) == 5
    assert "could not connect" in capsys.readouterr().err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["voices", "--gender", "robot"])
    assert info.value.code == 2

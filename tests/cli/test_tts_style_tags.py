"""voiceapi-async tts --narration-style-tags: the style chosen by tags, and the error when none matches."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.cli.conftest import RunningEmulator
from voiceapi_async import VoiceClient
from voiceapi_async._cli import build_parser, main

FAST = ["--plain", "--poll-interval", "0.05"]


async def _styles_used(emulator: RunningEmulator, folder: str) -> set[str]:
    async with VoiceClient(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        async for project in client.projects.list():
            async for f in client.folders.list(project.id):
                if f.name == folder:
                    page = await client.recordings.list(folder_id=f.id)
                    return {r.params["narration_style_id"] for r in page.list if r.type == "converted"}
    raise AssertionError(f"no folder {folder!r}")


async def _style_id(emulator: RunningEmulator, voice: str, style: str) -> str:
    async with VoiceClient(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        found = await client.voices.resolve(voice)
        return next(s.id for s in found.narration_styles if s.info.name == style)


def test_tts_narration_style_by_tags(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("A line read like a book.\n")
    out = tmp_path / "tagged"
    args = ["tts", str(lines), "--voice", "Aurora", "--narration-style-tags", "audiobook,narration", "--out", str(out)]
    assert main([*args, *FAST]) == 0
    assert asyncio.run(_styles_used(cli_env, "tagged")) == {asyncio.run(_style_id(cli_env, "Aurora", "Narration"))}

    capsys.readouterr()
    bad = ["tts", str(lines), "--voice", "Aurora", "--narration-style-tags", "whisper", "--out", str(tmp_path / "o")]
    assert main([*bad, *FAST]) == 2
    err = capsys.readouterr().err
    assert "no narration style tagged whisper" in err and "Neutral: neutral, conversational" in err


def test_tts_help_mentions_the_tags_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["tts", "--help"])
    assert "--narration-style-tags" in capsys.readouterr().out


def test_target_options_without_a_voice_are_refused(
    cli_env: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("Hello.\n")
    assert main(["tts", str(lines), "--narration-style-tags", "calm", "--out", str(tmp_path / "o"), *FAST]) == 2
    assert "--narration-style-tags applies to the --voice targets" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())

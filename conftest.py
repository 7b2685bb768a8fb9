"""Every Python block of README.md and docs/ runs as a test (pytest-markdown-docs), against an emulator.

Each block gets, as a reader following the docs would have:

* a running emulator (``EmulatorThread``: its own thread, so blocks calling ``asyncio.run`` work as well as
  blocks using top-level ``await``), with ``VOICEAPI_BASE_URL`` and ``VOICEAPI_API_KEY``
  set, and ``VOICEAPI_EMAIL`` / ``VOICEAPI_PASSWORD`` for session auth;
* a fresh working directory holding the files the docs talk about: ``take1.wav`` and
  ``recordings/`` (the bundled samples) and ``lines.jsonl`` (a few texts).

A block the docs show but that cannot run here is fenced ``python notest``; blocks that
continue an earlier one are fenced ``python continuation``. A block fenced
``python runner:PytestFile`` is a user's test file: it is written to an empty project and
run by pytest in a subprocess, as the user would run it. In docs/ (mkdocs' superfences)
options go in braces: ``{.python runner:PytestFile}``.
"""

from __future__ import annotations

import importlib.resources
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_markdown_docs._runners import DefaultRunner, register_runner
from pytest_markdown_docs.definitions import FenceTestDefinition

from voiceapi_async.emulator import EmulatorConfig, EmulatorThread, RateLimitConfig

# The emulator's pytest plugin is opt-in, for this suite as for a user's.
pytest_plugins = ["voiceapi_async.emulator.pytest_plugin"]

TEXTS = [
    {"text": "Welcome to the library.", "label": "welcome"},
    {"text": "Chapter one. It was a bright cold day.", "label": "chapter 1"},
    {"text": "Thank you for listening."},
]


def _docs_workdir(path: Path) -> None:
    samples = importlib.resources.files("voiceapi_async") / "_samples"
    recordings = path / "recordings"
    recordings.mkdir()
    for sample in samples.iterdir():
        if sample.name.endswith((".wav", ".flac")):
            (recordings / sample.name).write_bytes(sample.read_bytes())
    shutil.copyfile(recordings / "Welcome to the library.wav", path / "take1.wav")
    (path / "lines.jsonl").write_text("".join(json.dumps(t) + "\n" for t in TEXTS), encoding="utf-8")


@pytest.fixture(autouse=True)
def _docs_snippet_environment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    if request.node.get_closest_marker("markdown-docs") is None:
        yield
        return
    config = EmulatorConfig(
        original_delay=0.05,
        conversion_delay=(0.05, 0.1),
        calibration_delay=0.05,
        rate_limits=RateLimitConfig.off(),
    )
    with EmulatorThread(config) as emu:
        user = emu.users[0]
        monkeypatch.setenv("VOICEAPI_BASE_URL", emu.base_url)
        monkeypatch.setenv("VOICEAPI_API_KEY", user.api_key)
        monkeypatch.setenv("VOICEAPI_EMAIL", user.email)
        monkeypatch.setenv("VOICEAPI_PASSWORD", user.password)
        _docs_workdir(tmp_path)
        monkeypatch.chdir(tmp_path)
        yield


@register_runner()
class PytestFile(DefaultRunner):
    """A user's test file: written to an empty project and run by pytest, in a subprocess."""

    def runtest(self, test: FenceTestDefinition, args: dict[str, Any], **_: Any) -> None:
        project = Path.cwd()
        (project / "test_from_docs.py").write_text(test.source.lstrip("\n"), encoding="utf-8")
        (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")  # the user's: nothing configured
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEAPI_", "PYTEST_"))}
        done = subprocess.run(
            # --strict-markers, as many projects set: a marker the docs use must be known
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", "test_from_docs.py"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or " passed" not in done.stdout:
            raise AssertionError(f"the test file failed under pytest:\n{done.stdout}\n{done.stderr}")

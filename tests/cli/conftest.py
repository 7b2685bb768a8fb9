"""An emulator in its own process for CLI tests (the CLI runs its own event loop)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest


@dataclass
class RunningEmulator:
    base_url: str
    api_key: str
    process: subprocess.Popen[str]


def start_emulator(*args: str) -> RunningEmulator:
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceapi_async.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "counters:" in line:
            break
    text = "".join(lines)
    url = re.search(r"on (http://\S+)", text)
    key = re.search(r"api-key=(\S+)", text)
    if not (url and key):
        process.kill()
        raise RuntimeError(f"emulator did not start:\n{text}")
    return RunningEmulator(url.group(1), key.group(1), process)


@pytest.fixture(scope="module")
def emulator_process() -> Iterator[RunningEmulator]:
    running = start_emulator("--processing-delay", "0.05", "--no-rate-limits")
    yield running
    running.process.terminate()
    running.process.wait(timeout=10)


@pytest.fixture
def cli_env(emulator_process: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setenv("VOICEAPI_BASE_URL", emulator_process.base_url)
    monkeypatch.setenv("VOICEAPI_API_KEY", emulator_process.api_key)
    return emulator_process

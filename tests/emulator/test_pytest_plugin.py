"""The opt-in pytest plugin, run as a user runs it: pytest in a fresh project, in a subprocess.

The README's test file passes as written under pytest-asyncio in strict and in auto mode,
and with only its marker changed under anyio's plugin (with pytest-asyncio installed, and
without it); a project that does not list the plugin loads nothing of the SDK.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
PLUGIN_LINE = 'pytest_plugins = ["voiceapi_async.emulator.pytest_plugin"]'


def readme_test_file() -> str:
    blocks = re.findall(r"```python runner:PytestFile\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) == 1, "the README has one user test file"
    return str(blocks[0])


def run_pytest(project: Path, source: str, ini: str, *args: str) -> subprocess.CompletedProcess[str]:
    (project / "test_user.py").write_text(source, encoding="utf-8")
    (project / "pytest.ini").write_text(f"[pytest]\n{ini}", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOICEAPI_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers", *args, "test_user.py"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_passed(done: subprocess.CompletedProcess[str], n: int = 1) -> None:
    assert done.returncode == 0 and f"{n} passed" in done.stdout, done.stdout + done.stderr


def test_the_readme_test_file_lists_the_plugin() -> None:
    assert PLUGIN_LINE in readme_test_file()


@pytest.mark.parametrize("ini", ["asyncio_mode = strict\n", "asyncio_mode = auto\n"], ids=["strict", "auto"])
def test_the_readme_test_file_passes_under_pytest_asyncio(tmp_path: Path, ini: str) -> None:
    assert_passed(run_pytest(tmp_path, readme_test_file(), ini))


@pytest.mark.parametrize("args", [(), ("-p", "no:asyncio")], ids=["beside-pytest-asyncio", "anyio-alone"])
def test_the_readme_test_file_passes_under_anyio(tmp_path: Path, args: tuple[str, ...]) -> None:
    source = readme_test_file()
    assert "@pytest.mark.asyncio\n" in source
    source = source.replace("@pytest.mark.asyncio\n", "@pytest.mark.anyio\n")  # the one change the README asks
    assert_passed(run_pytest(tmp_path, source, "", *args))


def test_a_synchronous_test_gets_a_running_emulator(tmp_path: Path) -> None:
    source = f"""
import json
import urllib.request

{PLUGIN_LINE}


def test_health(voiceapi_emulator):
    with urllib.request.urlopen(voiceapi_emulator.base_url + "/api/healtz") as answer:
        assert answer.status == 200
"""
    assert_passed(run_pytest(tmp_path, source, ""))


def test_without_opting_in_nothing_of_the_sdk_is_loaded(tmp_path: Path) -> None:
    source = """
import sys

import pytest


def test_nothing_loaded(request):
    assert not [m for m in sys.modules if m.startswith("voiceapi_async")]
    with pytest.raises(pytest.FixtureLookupError):
        request.getfixturevalue("voiceapi_emulator")
"""
    assert_passed(run_pytest(tmp_path, source, ""))


def test_the_marker_configures_one_test_when_a_conftest_lists_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(PLUGIN_LINE + "\n", encoding="utf-8")
    source = """
import pytest


@pytest.mark.voiceapi_emulator(seed=7, conversion_error_rate=1.0)
def test_configured(voiceapi_emulator):
    assert voiceapi_emulator.config.seed == 7 and voiceapi_emulator.config.conversion_error_rate == 1.0


def test_defaults(voiceapi_emulator):
    assert voiceapi_emulator.config.conversion_error_rate == 0.0
"""
    assert_passed(run_pytest(tmp_path, source, ""), n=2)

"""What the wheel and the sdist carry: the license, the metadata, and (sdist) what runs the tests and docs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _build(kind: str, out: Path) -> Path:
    """setuptools' PEP 517 backend, in-process (no isolated environment, no download)."""
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    code = f"from setuptools import build_meta; print(build_meta.build_{kind}({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert (
        "License classifiers are deprecated" not in done.stderr
        and "project.license` as a TOML table" not in done.stderr
    )
    return out / done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    return _build("wheel", out), _build("sdist", out)


def test_the_wheel_carries_the_license_and_the_metadata(dists: tuple[Path, Path]) -> None:
    wheel, _ = dists
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [license_file] = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert zf.read(license_file).startswith(b"MIT License")
        [metadata_file] = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(zf.read(metadata_file).decode())
    assert metadata["License-Expression"] == "MIT"
    assert {url.split(",")[0] for url in metadata.get_all("Project-URL")} >= {"Homepage", "Documentation", "Changelog"}
    classifiers = set(metadata.get_all("Classifier"))
    assert "Programming Language :: Python :: 3.13" in classifiers
    assert any(c.startswith("Development Status ::") for c in classifiers)
    assert 'shtab>=1.7; extra == "cli"' in metadata.get_all("Requires-Dist")
    assert not any(n.startswith(("tests/", "docs/")) for n in names)


def test_the_sdist_runs_the_tests_and_builds_the_docs(dists: tuple[Path, Path]) -> None:
    _, sdist = dists
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "Makefile", "mkdocs.yml", "conftest.py", ".ci/run"} <= names
    assert {"docs/index.md", "docs/guides/web.md", "examples/web_backend.py", "tests/cli/test_polish.py"} <= names
    assert "benchmarks/__main__.py" in names  # tests/test_benchmarks_smoke.py runs them
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)

"""Type-check ``examples/`` and a user-style script with ``mypy --strict`` against the built wheel.

What a user's type checker sees is the *installed* package: its ``py.typed``, its static
re-exports, the files the wheel really ships.  The repo's own ``mypy`` checks the
sources instead, so it cannot catch a missing ``py.typed``, a dynamic ``__all__`` or a
module left out of the wheel.  This script:

1. builds the wheel (setuptools' PEP 517 backend, in-process: no isolated build env);
2. installs it, without dependencies, into a throwaway virtual environment whose
   ``.pth`` file points at this venv's site-packages for aiohttp, msgspec & co.  (the
   editable install of the repo there is an import hook, which mypy does not follow, so
   the only ``voiceapi_async`` mypy can find is the wheel's);
3. runs ``mypy --strict`` from a directory outside the repo, as a user project would.

Usage: ``python scripts/typecheck_wheel.py [files...]`` (default: examples and
``tests/typing/*.py``).  ``make typecheck-wheel`` runs it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARGETS = [*sorted((ROOT / "examples").glob("*.py")), *sorted((ROOT / "tests" / "typing").glob("*.py"))]


def build_wheel(out: Path) -> Path:
    # A stale build/lib would put deleted modules into the wheel: start from a clean one.
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    code = f"from setuptools import build_meta; print(build_meta.build_wheel({str(out)!r}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"building the wheel failed:\n{done.stdout}\n{done.stderr}")
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    return out / done.stdout.strip().splitlines()[-1]


def make_env(wheel: Path, where: Path) -> Path:
    """A venv holding only the wheel; dependencies come from this interpreter's site-packages."""
    venv.create(where, with_pip=False, symlinks=True)
    python = where / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", site, wheel],
        check=True,
    )
    (Path(site) / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def main(argv: list[str]) -> int:
    targets = [Path(a).resolve() for a in argv] or DEFAULT_TARGETS
    with tempfile.TemporaryDirectory(prefix="voiceapi-typecheck-") as tmp:
        tmpdir = Path(tmp)
        wheel = build_wheel(tmpdir / "dist")
        python = make_env(wheel, tmpdir / "venv")
        project = tmpdir / "project"  # the user's project: mypy runs here, far from the repo's sources
        project.mkdir()
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-executable",
            str(python),
            "--no-incremental",
            *map(str, targets),
        ]
        print(f"mypy --strict against {wheel.name}: {len(targets)} files", flush=True)
        return subprocess.run(command, cwd=project, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

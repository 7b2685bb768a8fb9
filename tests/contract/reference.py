"""Where the vendor's references are: never a silent skip.

``VOICEAPI_REFERENCE_DIR`` if set, else ``<repo>/../shared/reference`` (beside the
checkout in development and CI; ``/work/wt/shared`` is a link to it for worktrees), else
the copy vendored in ``tests/contract/reference`` (a test keeps it byte-identical to the
shared one whenever that exists, so drift is caught).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
VENDORED = Path(__file__).resolve().parent / "reference"
SHARED = REPO.parent / "shared" / "reference"
OPENAPI = "voice-marketplace-openapi.yml"
ENDPOINTS = "endpoints-reference.txt"
FILES = (OPENAPI, ENDPOINTS)


def reference_dir() -> Path:
    """The directory the suites read the references from (see the module docstring)."""
    configured = os.environ.get("VOICEAPI_REFERENCE_DIR")
    if configured:
        path = Path(configured)
        if not all((path / name).is_file() for name in FILES):
            raise FileNotFoundError(f"VOICEAPI_REFERENCE_DIR={configured} lacks {' or '.join(FILES)}")
        return path
    if all((SHARED / name).is_file() for name in FILES):
        return SHARED
    return VENDORED


def reference_file(name: str) -> Path:
    return reference_dir() / name


@functools.cache
def openapi() -> dict[str, Any]:
    """The vendor's OpenAPI document, parsed."""
    document: dict[str, Any] = yaml.safe_load(reference_file(OPENAPI).read_text(encoding="utf-8"))
    return document

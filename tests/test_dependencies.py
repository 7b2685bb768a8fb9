"""What the package imports is what it declares: no undeclared import, no unused core dependency."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "voiceapi_async"


def _imported_distributions() -> dict[str, set[str]]:
    """Distribution name -> modules of voiceapi_async importing it (any import, lazy ones too)."""
    dists = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top == "voiceapi_async":
                    continue
                for dist in dists.get(top, [top]):
                    found.setdefault(_normal(dist), set()).add(str(path.relative_to(PACKAGE.parent)))
    return found


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    """(core dependencies, dependencies of any extra), as declared in the package's metadata."""
    core: set[str] = set()
    extras: set[str] = set()
    for requirement in importlib.metadata.requires("voiceapi-async") or []:
        name = _normal(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        (extras if "extra ==" in requirement else core).add(name)
    return core, extras


def test_every_import_is_declared_and_every_core_dependency_imported() -> None:
    imported = _imported_distributions()
    core, extras = _declared()
    undeclared = {dist: sorted(where) for dist, where in imported.items() if dist not in core | extras}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    assert not core - imported.keys(), f"declared but never imported: {sorted(core - imported.keys())}"
    # The optional ones stay optional: only the modules of their feature import them.
    assert imported["asyncpg"] == {"voiceapi_async/jobs/_pgstore.py"}
    assert imported["redis"] == {"voiceapi_async/_ratelimit_redis.py"}

"""The vendored copy of the references is the shared one: drift fails, nothing skips silently."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.contract import reference


@pytest.mark.parametrize("name", reference.FILES)
def test_the_vendored_reference_is_the_shared_one(name: str) -> None:
    shared = reference.SHARED / name
    if not shared.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{shared} is missing: CI lays shared/ beside the checkout")
        pytest.skip(f"{reference.SHARED} is not beside this checkout: nothing to compare the vendored copy with")
    assert (reference.VENDORED / name).read_bytes() == shared.read_bytes(), (
        f"tests/contract/reference/{name} differs from {shared}: copy the shared file over it"
    )


def test_the_references_are_found_without_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(reference, "SHARED", tmp_path / "absent")
    assert reference.reference_dir() == reference.VENDORED
    monkeypatch.setenv("VOICEAPI_REFERENCE_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="VOICEAPI_REFERENCE_DIR"):
        reference.reference_dir()
    for name in reference.FILES:
        (tmp_path / name).write_bytes((reference.VENDORED / name).read_bytes())
    assert reference.reference_dir() == tmp_path


def test_the_references_in_use_are_the_shared_ones_when_present() -> None:
    if os.environ.get("VOICEAPI_REFERENCE_DIR"):
        pytest.skip("VOICEAPI_REFERENCE_DIR chooses the references")
    expected = reference.SHARED if (reference.SHARED / reference.OPENAPI).is_file() else reference.VENDORED
    assert reference.reference_dir() == expected
    assert reference.openapi()["info"]["version"]

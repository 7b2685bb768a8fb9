"""The emulator's ways of answering like another legal server, for tests parametrized over them."""

from __future__ import annotations

from typing import Any

import pytest

from voiceapi_async.emulator import EmulatorConfig

#: name -> ``EmulatorConfig`` changes.  Each is an answer the API may legally give.
ANSWER_MODES: dict[str, dict[str, Any]] = {
    "default": {},
    "optionals-null": {"optional_fields": "null"},
    "optionals-omitted": {"optional_fields": "omit"},
    "calibrations-bare-list": {"calibrations_shape": "list"},
    "stats-get-only": {"stats_method": "GET"},
    "stats-post-only": {"stats_method": "POST"},
}

#: ``pytest.param``s of every mode, for ``parametrize`` and fixture ``params``.
MODE_PARAMS = [pytest.param(name, id=name) for name in ANSWER_MODES]


def apply_mode(config: EmulatorConfig, answer_mode: str) -> EmulatorConfig:
    for name, value in ANSWER_MODES[answer_mode].items():
        setattr(config, name, value)
    return config

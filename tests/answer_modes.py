"""The emulator's ways of answering like another legal server, for tests parametrized over them."""

from __future__ import annotations

from typing import Any

import pytest

from voiceapi_async import VoiceAPIError
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

# Until the shared models accept ``null`` for every optional field (issue 9 item 1, being
# landed separately) the null mode fails to decode; strict, so this mark must go with it.
_PENDING = {
    "optionals-null": pytest.mark.xfail(
        strict=True, raises=VoiceAPIError, reason="models do not accept null optionals yet (issue 9 item 1)"
    )
}

#: ``pytest.param``s of every mode, for ``parametrize`` and fixture ``params``.
MODE_PARAMS = [pytest.param(name, marks=_PENDING.get(name, ()), id=name) for name in ANSWER_MODES]


def apply_mode(config: EmulatorConfig, answer_mode: str) -> EmulatorConfig:
    for name, value in ANSWER_MODES[answer_mode].items():
        setattr(config, name, value)
    return config

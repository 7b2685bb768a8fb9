"""pytest plugin: the ``voiceapi_emulator`` fixture, a running ``Emulator`` per test.

Opt-in (installing the SDK registers nothing with pytest): in your top-level
``conftest.py``::

    pytest_plugins = ["voiceapi_async.emulator.pytest_plugin"]

Configure it for a module or a conftest by overriding the ``voiceapi_emulator_config``
fixture (``return fast_config(conversion_error_rate=1.0)``) or, when the plugin is listed
in a ``conftest.py``, per test with a marker (fields of ``EmulatorConfig``)::

    @pytest.mark.voiceapi_emulator(conversion_error_rate=1.0)
    async def test_x(voiceapi_emulator): ...

(A test module listing the plugin itself evaluates its markers before pytest loads the
plugin: pytest warns "Unknown pytest.mark", or fails under ``--strict-markers``.)
Defaults are fast: processing delays of ~0.05 s and no rate limits.

The fixture is synchronous and the emulator runs on its own event loop in a background
thread, so it works the same under pytest-asyncio (strict or auto mode), under anyio's
pytest plugin, and in synchronous tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from ._config import EmulatorConfig, RateLimitConfig
from ._emulator import Emulator
from ._thread import EmulatorThread

__all__ = ["fast_config", "voiceapi_emulator", "voiceapi_emulator_config"]


def fast_config(**changes: Any) -> EmulatorConfig:
    """Test-speed defaults: short delays, no rate limits, small upload cap unchanged."""
    base = EmulatorConfig(
        original_delay=0.05,
        conversion_delay=(0.05, 0.1),
        calibration_delay=0.05,
        rate_limits=RateLimitConfig.off(),
    )
    return dataclasses.replace(base, **changes)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "voiceapi_emulator(**config): EmulatorConfig fields for the voiceapi_emulator fixture"
    )


@pytest.fixture
def voiceapi_emulator_config() -> EmulatorConfig:
    """Override to change the emulator of many tests at once."""
    return fast_config()


@pytest.fixture
def voiceapi_emulator(request: pytest.FixtureRequest, voiceapi_emulator_config: EmulatorConfig) -> Iterator[Emulator]:
    """A running emulator (``base_url``, ``api_key``, ``counters``, ``set_faults``...), stopped after the test."""
    cfg = voiceapi_emulator_config
    marker = request.node.get_closest_marker("voiceapi_emulator")
    if marker is not None:
        cfg = dataclasses.replace(cfg, **marker.kwargs)
    with EmulatorThread(cfg) as emu:
        yield emu

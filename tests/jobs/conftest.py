"""Fixtures of the job tests: an in-process emulator over loopback and a client bound to it; unlistable folders."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from voiceapi_async import RateLimits, RetryPolicy, VoiceClient
from voiceapi_async.emulator import Emulator, EmulatorConfig, RateLimitConfig


def fast_config(**changes: object) -> EmulatorConfig:
    config = EmulatorConfig(
        original_delay=0.02,
        conversion_delay=(0.02, 0.08),
        rate_limits=RateLimitConfig(enabled=False, retry_after_precision="float"),
    )
    for name, value in changes.items():
        setattr(config, name, value)
    return config


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return fast_config()


@pytest.fixture
async def emu(emulator_config: EmulatorConfig) -> AsyncIterator[Emulator]:
    async with Emulator(emulator_config) as emulator:
        yield emulator


def make_client(emu: Emulator, **kwargs: object) -> VoiceClient:
    kwargs.setdefault("rate_limits", RateLimits.disabled())
    kwargs.setdefault("retry", RetryPolicy(max_retries=4, backoff_base=0.01, backoff_max=0.05))
    return VoiceClient(api_key=emu.api_key, base_url=emu.base_url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def client(emu: Emulator) -> AsyncIterator[VoiceClient]:
    async with make_client(emu) as c:
        yield c


@pytest.fixture
def voice_names(emu: Emulator) -> list[str]:
    return [v.name for v in emu.store.catalogue.voices]


JOB_FAST = {"poll_interval": 0.05, "max_poll_interval": 0.2}


@pytest.fixture
def unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    """Directories that cannot be listed (chmod does not stop root, so ``os.scandir`` refuses them)."""
    refused: set[str] = set()
    real = os.scandir

    def scandir(path: Any = ".") -> Any:
        if not isinstance(path, int) and os.path.abspath(os.fspath(path)) in refused:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    yield refused

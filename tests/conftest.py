"""Shared fixtures, and the aiohttp 3.14 / aioresponses 0.7.9 compatibility shim."""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

# aiohttp 3.14 made ClientResponse.__init__ require a keyword-only `stream_writer`;
# aioresponses 0.7.9 builds responses without it (pnuckowski/aioresponses issue #289,
# fix proposed in PR #288, unreleased).  Give it a default only when none is passed;
# the guard makes this disappear once aioresponses passes it itself.
_init_params = inspect.signature(aiohttp.ClientResponse.__init__).parameters
if "stream_writer" in _init_params and _init_params["stream_writer"].default is inspect.Parameter.empty:

    class _NullStreamWriter:
        output_size = 0
        buffer_size = 0

    _original_init = aiohttp.ClientResponse.__init__

    def _init_with_default_writer(self: aiohttp.ClientResponse, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _NullStreamWriter())
        _original_init(self, *args, **kwargs)

    aiohttp.ClientResponse.__init__ = _init_with_default_writer  # type: ignore[method-assign]


BASE = "https://api.test"
API_KEY = "sk-test-0123456789abcdef-SECRET"


class FakeTime:
    """A clock and a sleep that advances it: retries and rate limits run instantly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def client(fake_time: FakeTime) -> AsyncIterator[Any]:
    from voiceapi_async import RateLimits, VoiceClient

    c = VoiceClient(
        api_key=API_KEY,
        base_url=BASE,
        rate_limits=RateLimits.disabled(),
        _sleep=fake_time.sleep,
        _clock=fake_time.clock,
    )
    yield c
    await c.close()


@pytest.fixture
def sdk_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="voiceapi_async")
    return caplog


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A throwaway Redis shared by the session's tests (each test uses its own account names)."""
    from tests.servers import redis_server

    with redis_server() as server:
        yield server.url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL shared by the session's tests (each test uses its own job names)."""
    from tests.servers import postgres_server

    with postgres_server() as server:
        yield server.url

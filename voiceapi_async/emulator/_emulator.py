"""``Emulator``: the store, the app and a loopback server, with knobs for tests."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from ._app import Runtime, build_app
from ._config import EmulatorConfig, FaultConfig, RateLimitConfig
from ._counters import Counters
from ._store import SeededUser, Store

__all__ = ["Emulator", "ManualClock"]


def _remove_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


class ManualClock:
    """A clock that only moves when told: ``clock.advance(5)`` makes 5 s of processing pass."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Emulator:
    """The Voice Marketplace API on ``127.0.0.1``: ``async with Emulator() as emu: emu.base_url``.

    ``clock`` (default ``time.time``) drives processing delays, sessions and rate limits;
    pass a ``ManualClock`` to step time in tests.  ``emu.config`` (a copy of the one given,
    so one config can serve many emulators) stays live: change its fields (or call
    ``set_faults``/``set_rate_limits``) while the server runs.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None) -> None:
        self.config = dataclasses.replace(config) if config is not None else EmulatorConfig()
        self.counters = Counters()
        if self.config.data_dir is None:
            self._data_dir = tempfile.mkdtemp(prefix="voiceapi-emulator-")
            self._finalizer: weakref.finalize[[str], Emulator] | None = weakref.finalize(
                self, _remove_tree, self._data_dir
            )
        else:
            self._data_dir = self.config.data_dir
            self._finalizer = None
        self.store = Store(self.config, clock or time.time, self.counters, self._data_dir)
        self._runtime = Runtime(self.config, self.store, self.counters)
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self.host = self.config.host
        self.port = self.config.port

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def app(self) -> web.Application:
        """The aiohttp application (for in-process use, e.g. ``aiohttp.test_utils.TestServer``)."""
        if self._app is None:
            self._app = build_app(self._runtime)
        return self._app

    async def start(self) -> None:
        if self._runner is not None:
            return
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port, reuse_address=True)
        await site.start()
        self._runner = runner
        addr = runner.addresses[0]
        self.host, self.port = addr[0], addr[1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if self._finalizer is not None:
            self._finalizer()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    # -- what tests use -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def users(self) -> list[SeededUser]:
        return list(self.store.seeded)

    @property
    def api_key(self) -> str:
        """The first seeded user's key (as seeded: ``POST /api/api-key`` replaces it)."""
        return self.store.seeded[0].api_key

    @property
    def clock(self) -> Callable[[], float]:
        return self.store.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.store.clock = clock

    @property
    def data_dir(self) -> str:
        return self._data_dir

    def set_faults(self, faults: FaultConfig | None = None, **changes: object) -> FaultConfig:
        """Replace the fault config (``set_faults()`` switches all faults off); returns it."""
        base = faults if faults is not None else FaultConfig()
        self.config.faults = dataclasses.replace(base, **changes) if changes else base  # type: ignore[arg-type]
        return self.config.faults

    def set_rate_limits(self, limits: RateLimitConfig) -> None:
        self.config.rate_limits = limits

    def expire_sessions(self) -> None:
        """End every login session (the next cookie request answers 401)."""
        self.store.sessions.clear()

    def credits_of(self, user_id: str) -> float:
        user = self.store.users[user_id]
        self.store.settle(user)
        return user.credits

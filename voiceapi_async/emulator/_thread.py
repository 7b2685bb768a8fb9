"""``EmulatorThread``: an ``Emulator`` served by its own event loop in a background thread.

For synchronous callers, and for test fixtures that must work whichever plugin runs the
test's event loop (pytest-asyncio in strict or auto mode, anyio, or none): the emulator
never shares the test's loop, so it needs none of them.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from ._config import EmulatorConfig
from ._emulator import Emulator

__all__ = ["EmulatorThread"]


class EmulatorThread:
    """``with EmulatorThread(config) as emu:`` gives a running ``Emulator`` (served from another thread).

    Its knobs (``set_faults``, ``set_rate_limits``, ``expire_sessions``) and its counters
    may be used from the calling thread: they only set or read plain attributes.
    """

    def __init__(self, config: EmulatorConfig | None = None, *, start_timeout: float = 30.0) -> None:
        self.config = config
        self.start_timeout = start_timeout
        self._emulator: Emulator | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="voiceapi-emulator", daemon=True)

    def __enter__(self) -> Emulator:
        self._thread.start()
        if not self._ready.wait(self.start_timeout) or self._emulator is None:
            raise RuntimeError(f"the emulator did not start: {self._error!r}")
        return self._emulator

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.start_timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with Emulator(self.config) as emu:
            self._emulator = emu
            self._ready.set()
            await self._stop.wait()

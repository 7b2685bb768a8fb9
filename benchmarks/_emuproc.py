"""The emulator in its own process, pinned to the server core, with its counters over HTTP.

Running it out of process keeps its CPU and memory out of every client-side figure;
``/_emulator/counters`` (no auth, never faulted) reads what it saw.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import signal
import urllib.request
from typing import Any

from ._common import pin, proc_cpu_seconds, proc_peak_rss_mb, scratch_dir


def _serve(config: Any, conn: Any) -> None:
    import asyncio

    from voiceapi_async.emulator import Emulator

    pin("server")
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    async def main() -> None:
        async with Emulator(config) as emu:
            conn.send((emu.base_url, emu.api_key, [u.id for u in emu.users]))
            await asyncio.Event().wait()

    asyncio.run(main())


class EmulatorProcess:
    """``with EmulatorProcess(EmulatorConfig(...)) as emu: emu.base_url, emu.api_key, emu.counters()``."""

    def __init__(self, config: Any) -> None:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        # The data directory belongs to this side: the emulator is stopped with SIGTERM and
        # exits at once, so it could not remove a temporary directory of its own.  A fresh
        # scratch directory per emulator, removed with the others when this process exits:
        # never between two runs of a benchmark.
        if config.data_dir is None:
            config = dataclasses.replace(config, data_dir=str(scratch_dir("emulator")))
        self.data_dir: str = config.data_dir
        self.process = ctx.Process(target=_serve, args=(config, child), daemon=True)
        self.base_url = ""
        self.api_key = ""

    def __enter__(self) -> EmulatorProcess:
        self.process.start()
        if not self._conn.poll(60):
            self.process.kill()
            raise RuntimeError("the emulator did not start within 60 s")
        self.base_url, self.api_key, self.user_ids = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)

    @property
    def pid(self) -> int:
        assert self.process.pid is not None
        return self.process.pid

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def peak_rss_mb(self) -> float:
        return proc_peak_rss_mb(self.pid)

    def _admin(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.base_url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def counters(self) -> dict[str, Any]:
        result: dict[str, Any] = self._admin("GET", "/_emulator/counters")
        return result

    def reset_counters(self) -> None:
        self._admin("POST", "/_emulator/reset-counters")

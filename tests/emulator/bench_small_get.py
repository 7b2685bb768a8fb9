"""Throughput of small authenticated GETs against the emulator (not collected by pytest).

The emulator runs in its own process (one core), the load generator (aiohttp, 64
concurrent requests on one keep-alive pool) in this one::

    PYTHONPATH=. .venv/bin/python tests/emulator/bench_small_get.py [requests]
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import sys
import time

import aiohttp


def _serve(port_queue: mp.Queue[object]) -> None:
    from voiceapi_async.emulator import Emulator, EmulatorConfig, RateLimitConfig

    async def run() -> None:
        async with Emulator(EmulatorConfig(rate_limits=RateLimitConfig.off())) as emu:
            port_queue.put((emu.base_url, emu.api_key))
            await asyncio.Event().wait()

    asyncio.run(run())


async def _load(base_url: str, api_key: str, total: int, concurrency: int = 64) -> None:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url=base_url, headers={"api-key": api_key}, connector=connector) as s:
        me = await (await s.post("/api/auth")).json()
        project = await (await s.post("/api/projects", json={"name": "b", "owner": me["id"], "models": {}})).json()
        folder = await (await s.post("/api/folders", json={"name": "f", "project_id": project["id"]})).json()
        paths = {"GET /api/credits": "/api/credits", "GET /api/folders/{id}": f"/api/folders/{folder['id']}"}
        for label, path in paths.items():
            left = total

            async def worker(path: str = path) -> None:
                nonlocal left
                while left > 0:
                    left -= 1
                    async with s.get(path) as r:
                        await r.read()
                        assert r.status == 200

            t0 = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            dt = time.perf_counter() - t0
            print(f"{label}: {total / dt:,.0f} requests/s ({total} requests, {concurrency} concurrent)")


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    q: mp.Queue[object] = mp.Queue()
    proc = mp.Process(target=_serve, args=(q,), daemon=True)
    proc.start()
    base_url, api_key = q.get(timeout=10)  # type: ignore[misc]
    try:
        asyncio.run(_load(str(base_url), str(api_key), total))
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()

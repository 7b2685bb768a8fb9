"""B5 — the emulator's capacity: sustained requests per second for a small GET on one core.

The emulator runs in its own process pinned to one core, with rate limits off.  The
load comes from another process pinned to the other core: a raw ``asyncio.Protocol``
client (precomputed request bytes, 64 keep-alive connections, one request in flight on
each) that costs far less CPU per request than any HTTP client library, so the
emulator is what saturates.  Reported: requests per second, the emulator's CPU per
request and its CPU use (near 100% of its core means it was the bottleneck, as wanted).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from typing import Any

from ._common import BenchResult, Goal, Options, Table, cpu_seconds, fmt, median, pin, proc_cpu_seconds, spread
from ._emuproc import EmulatorProcess

CONCURRENCY = 64
ROUTES = {
    "GET /api/credits": "/api/credits",
    "GET /api/v2/voices?limit=25": "/api/v2/voices?limit=25",
}


class _LoadProtocol(asyncio.Protocol):
    """One keep-alive connection sending ``request`` again as soon as each answer is complete."""

    def __init__(self, request: bytes, stats: dict[str, int]) -> None:
        self.request = request
        self.stats = stats
        self.buf = b""
        self.need = -1  # bytes of the current answer (head + body) once its head is in
        self.running = True
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        while True:
            if self.need < 0:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buf[:end].lower()
                i = head.find(b"content-length:")
                length = (
                    int(head[i + 15 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) if i >= 0 else 0
                )
                self.need = end + 4 + length
                if not buf.startswith(b"HTTP/1.1 200"):
                    self.stats["errors"] += 1
            if len(buf) < self.need:
                break
            buf = buf[self.need :]
            self.need = -1
            self.stats["done"] += 1
            if self.running and self.transport is not None:
                self.transport.write(self.request)
        self.buf = buf

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def _load(host: str, port: int, request: bytes, warmup: float, seconds: float, emu_pid: int) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    stats = {"done": 0, "errors": 0}
    conns = [
        (await loop.create_connection(lambda: _LoadProtocol(request, stats), host, port))[1] for _ in range(CONCURRENCY)
    ]
    await asyncio.sleep(warmup)
    d0, e0, c0, s0, t0 = stats["done"], stats["errors"], cpu_seconds(), proc_cpu_seconds(emu_pid), time.perf_counter()
    await asyncio.sleep(seconds)
    # A loaded machine may answer nothing in a short (tiny-mode) window, and a rate needs answers.
    while stats["done"] - d0 < CONCURRENCY:  # noqa: ASYNC110 - a counter the protocols bump; checked rarely
        await asyncio.sleep(0.05)
    done, errors = stats["done"] - d0, stats["errors"] - e0
    wall, cpu, emu_cpu = time.perf_counter() - t0, cpu_seconds() - c0, proc_cpu_seconds(emu_pid) - s0
    for p in conns:
        p.running = False
        if p.transport is not None:
            p.transport.close()
    await asyncio.gather(*(p.closed for p in conns))
    return {
        "rps": done / wall,
        "requests": done,
        "errors": errors,
        "emulator_cpu_ms": emu_cpu / max(done, 1) * 1000,
        "emulator_cpu_util": emu_cpu / wall,
        "loadgen_cpu_util": cpu / wall,
    }


def _loadgen(host: str, port: int, request: bytes, warmup: float, seconds: float, emu_pid: int, conn: Any) -> None:
    pin("client")
    conn.send(asyncio.run(_load(host, port, request, warmup, seconds, emu_pid)))


def measure(opts: Options) -> dict[str, Any]:
    from voiceapi_async.emulator import EmulatorConfig, RateLimitConfig

    if opts.tiny:
        warmup, seconds, runs = 0.1, 0.3, 1
    elif opts.quick:
        warmup, seconds, runs = 0.5, 1.5, max(1, min(opts.runs, 2))
    else:
        warmup, seconds, runs = 1.0, 3.0, max(3, min(opts.runs, 5))
    out: dict[str, list[dict[str, float]]] = {label: [] for label in ROUTES}
    ctx = mp.get_context("spawn")
    with EmulatorProcess(EmulatorConfig(rate_limits=RateLimitConfig.off())) as emu:
        host, port = emu.base_url.removeprefix("http://").rsplit(":", 1)
        for run in range(runs):
            opts.log(f"  B5 run {run + 1}/{runs}")
            for label, path in ROUTES.items():
                request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\napi-key: {emu.api_key}\r\n\r\n".encode()
                parent, child = ctx.Pipe()
                p = ctx.Process(target=_loadgen, args=(host, int(port), request, warmup, seconds, emu.pid, child))
                p.start()
                if not parent.poll(warmup + seconds + 60):
                    p.kill()
                    raise RuntimeError("the load generator did not answer")
                out[label].append(parent.recv())
                p.join(10)
    return {"routes": out, "runs": runs, "seconds": seconds, "concurrency": CONCURRENCY}


def run(opts: Options) -> BenchResult:
    raw = measure(opts)
    res = BenchResult("B5", "the emulator's capacity", raw=raw)
    rows = []
    for label, runs in raw["routes"].items():
        rps = [r["rps"] for r in runs]
        rows.append(
            [
                label,
                median(rps),
                spread(rps),
                median(r["emulator_cpu_ms"] for r in runs),
                f"{median(r['emulator_cpu_util'] for r in runs):.0%}",
                f"{median(r['loadgen_cpu_util'] for r in runs):.0%}",
                sum(int(r["errors"]) for r in runs),
            ]
        )
    res.tables.append(
        Table(
            f"Sustained throughput, {raw['concurrency']} keep-alive connections, emulator on one core",
            [
                "request",
                "requests / s (median)",
                "min..max",
                "emulator CPU ms / request",
                "emulator CPU use",
                "load generator CPU use",
                "non-200 answers",
            ],
            rows,
        )
    )
    small = median(r["rps"] for r in raw["routes"]["GET /api/credits"])
    res.raw["small_get_rps"] = small
    res.goals.append(
        Goal(
            "small GET served per second (context for B2-B4: their request rates must stay well below)",
            "(capacity; no target)",
            small,
            None,
            "req/s",
        )
    )
    res.notes.append(
        f"{raw['runs']} runs of {raw['seconds']} s each. Emulator CPU use near 100% (and the load generator's"
        f" below it) means the figure is the emulator's capacity, not the load generator's ({fmt(small)} req/s)."
    )
    return res

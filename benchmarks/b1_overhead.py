"""B1 — client overhead per request.

A canned API (``_canned.CannedServer``) runs in its own process pinned to one core;
each client runs in its own worker process pinned to the other core.  For every
endpoint and concurrency the worker warms up, then times a fixed number of requests:
process CPU time (user + system, all threads: ``time.process_time()``) per request,
and requests per second (wall).  Clients are interleaved cell by cell so each ratio
compares measurements taken seconds apart; ratios are computed within a run and the
median over runs is reported.

Clients:

* ``sdk`` — ``VoiceClient`` with its rate limiter disabled (``RateLimits.disabled``).
* ``floor`` — raw ``aiohttp.ClientSession`` + ``msgspec`` decoding into the same structs
  with a prebuilt ``msgspec.json.Decoder``: the least work that gives the same typed result.
* ``httpx_pydantic`` — ``httpx.AsyncClient`` + pydantic v2 models of the same shapes,
  decoded with ``model_validate_json`` (the pattern of generated vendor SDKs).
* ``requests_json`` — ``requests.Session`` + ``.json()`` + dict access; at concurrency 64
  a pool of 64 threads, each with its own session.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing as mp
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ._canned import ENDPOINTS, FOLDER_ID, RECORDING_ID, CannedServer
from ._common import BenchResult, Goal, Options, Table, cpu_seconds, fmt, median, pin, proc_cpu_seconds, spread

CLIENTS = ("floor", "sdk", "httpx_pydantic", "requests_json")
LABELS = {
    "floor": "aiohttp + msgspec (floor)",
    "sdk": "voiceapi-async SDK",
    "httpx_pydantic": "httpx + pydantic v2",
    "requests_json": "requests + json (sync)",
}
#: The cells: endpoint -> the concurrencies it is measured at.  The rich 25-voice page
#: (about 50 KB, every accent, narration style and tier) at 32 is the cell an independent
#: measurement found furthest from the floor (issue 10, item 6).
CELLS: dict[str, tuple[int, ...]] = {
    "voices_page_25": (1, 64),
    "recordings_page_200": (1, 64),
    "recording": (1, 64),
    "voices_page_25_rich": (32,),
}
CONCURRENCIES = tuple(sorted({c for cs in CELLS.values() for c in cs}))
N_CELLS = sum(len(cs) for cs in CELLS.values())
API_KEY = "bench-0123456789abcdef"
HEADERS = {"api-key": API_KEY, "Accept": "application/json"}
GOAL_VS_FLOOR = 1.10
GOAL_VS_HTTPX = 0.20


# -- the clients (each built inside its own worker process) ----------------------------------

Call = Callable[[], Awaitable[Any]]


async def _sdk_calls(base_url: str) -> tuple[dict[str, Call], Callable[[], Awaitable[None]]]:
    from voiceapi_async import RateLimits, VoiceClient

    client = VoiceClient(api_key=API_KEY, base_url=base_url, rate_limits=RateLimits.disabled(max_in_flight=256))
    calls: dict[str, Call] = {
        "voices_page_25": lambda: client.voices.list(limit=25),
        "recordings_page_200": lambda: client.recordings.list(folder_id=FOLDER_ID, limit=200),
        "recording": lambda: client.recordings.get(RECORDING_ID),
        "voices_page_25_rich": lambda: client.voices.list(limit=25, offset=25),
    }
    return calls, client.close


async def _floor_calls(base_url: str) -> tuple[dict[str, Call], Callable[[], Awaitable[None]]]:
    import aiohttp
    import msgspec

    from voiceapi_async import Recording
    from voiceapi_async.types import RecordingPage, VoicePage

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100))
    types = {"voices_page_25": VoicePage, "recordings_page_200": RecordingPage, "recording": Recording}
    types["voices_page_25_rich"] = VoicePage

    def make(name: str) -> Call:
        url = base_url + ENDPOINTS[name]
        decode = msgspec.json.Decoder(types[name]).decode

        async def call() -> Any:
            async with session.get(url, headers=HEADERS) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")
                return decode(await resp.read())

        return call

    return {name: make(name) for name in ENDPOINTS}, session.close


async def _httpx_calls(base_url: str) -> tuple[dict[str, Call], Callable[[], Awaitable[None]]]:
    import httpx

    from . import _pydantic_models as pm

    client = httpx.AsyncClient(
        base_url=base_url,
        headers=HEADERS,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )
    types: dict[str, Any] = {"voices_page_25": pm.VoicePage, "recordings_page_200": pm.RecordingPage}
    types["recording"] = pm.Recording
    types["voices_page_25_rich"] = pm.VoicePage

    def make(name: str) -> Call:
        path = ENDPOINTS[name]
        validate = types[name].model_validate_json

        async def call() -> Any:
            resp = await client.get(path)
            resp.raise_for_status()
            return validate(resp.content)

        return call

    return {name: make(name) for name in ENDPOINTS}, client.aclose


def _requests_calls(base_url: str) -> dict[str, Callable[[], Any]]:
    import threading

    import requests

    local = threading.local()

    def session() -> requests.Session:
        s = getattr(local, "session", None)
        if s is None:
            s = local.session = requests.Session()
            s.headers.update(HEADERS)
        return s

    def make(name: str) -> Callable[[], Any]:
        url = base_url + ENDPOINTS[name]
        if name == "recording":

            def access(data: dict[str, Any]) -> Any:
                return data["id"], data["state"]

        else:

            def access(data: dict[str, Any]) -> Any:
                return [item["id"] for item in data["list"]], data["pagination"]["count"]

        def call() -> Any:
            resp = session().get(url)
            resp.raise_for_status()
            return access(resp.json())

        return call

    return {name: make(name) for name in ENDPOINTS}


# -- measuring ---------------------------------------------------------------------------------


async def _drive_async(call: Call, n: int, concurrency: int) -> None:
    todo = iter(range(n))

    async def worker() -> None:
        for _ in todo:
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _drive_threads(call: Callable[[], Any], n: int, concurrency: int, pool: Any) -> None:
    if concurrency == 1:
        for _ in range(n):
            call()
        return
    todo = iter(range(n))

    def worker() -> None:
        for _ in todo:  # next() on a range iterator is atomic under the GIL
            call()

    for f in [pool.submit(worker) for _ in range(concurrency)]:
        f.result()


def _measure(drive: Callable[[int], None], n_warm: int, seconds: float, min_n: int) -> dict[str, float]:
    t = time.perf_counter()
    drive(n_warm)
    warm_wall = time.perf_counter() - t
    n = max(min_n, int(n_warm / max(warm_wall, 1e-6) * seconds)) if seconds > 0 else min_n
    gc.collect()
    c0, t0 = cpu_seconds(), time.perf_counter()
    drive(n)
    cpu, wall = cpu_seconds() - c0, time.perf_counter() - t0
    return {"n": n, "cpu_ms": cpu / n * 1000, "rps": n / wall, "wall": wall}


def _decoder(kind: str, name: str) -> Callable[[bytes], Any]:
    """The decode step alone of each client (no HTTP), for the decode-only figures."""
    if kind in ("floor", "sdk"):
        import msgspec

        from voiceapi_async import Recording
        from voiceapi_async.types import RecordingPage, VoicePage

        types: dict[str, Any] = {"voices_page_25": VoicePage, "recordings_page_200": RecordingPage}
        types["recording"] = Recording
        types["voices_page_25_rich"] = VoicePage
        return msgspec.json.Decoder(types[name]).decode
    if kind == "httpx_pydantic":
        from . import _pydantic_models as pm

        models: dict[str, Any] = {"voices_page_25": pm.VoicePage, "recordings_page_200": pm.RecordingPage}
        models["recording"] = pm.Recording
        models["voices_page_25_rich"] = pm.VoicePage
        return models[name].model_validate_json  # type: ignore[no-any-return]
    import json

    return json.loads


def _measure_decode(kind: str, name: str, seconds: float, min_n: int) -> dict[str, float]:
    from ._canned import canned_bodies

    body = canned_bodies()[name]
    decode = _decoder(kind, name)
    t = time.perf_counter()
    for _ in range(20):
        decode(body)
    n = max(min_n, int(20 / max(time.perf_counter() - t, 1e-6) * seconds))
    gc.collect()
    c0 = cpu_seconds()
    for _ in range(n):
        decode(body)
    return {"n": n, "cpu_ms": (cpu_seconds() - c0) / n * 1000}


def _worker(kind: str, base_url: str, conn: Any) -> None:
    """A client process: builds one client, then measures the cells the driver asks for."""
    pin("client")
    conn = _DecodeFilter(kind, conn)
    if kind == "requests_json":
        from concurrent.futures import ThreadPoolExecutor

        sync_calls = _requests_calls(base_url)
        pool = ThreadPoolExecutor(max(CONCURRENCIES))
        while (msg := conn.recv()) is not None:
            name, conc, n_warm, seconds, min_n = msg
            call = sync_calls[name]
            conn.send(_measure(lambda n, c=call, k=conc: _drive_threads(c, n, k, pool), n_warm, seconds, min_n))
        pool.shutdown()
        return
    factory = {"sdk": _sdk_calls, "floor": _floor_calls, "httpx_pydantic": _httpx_calls}[kind]
    loop = asyncio.new_event_loop()
    calls, close = loop.run_until_complete(factory(base_url))
    while (msg := conn.recv()) is not None:
        name, conc, n_warm, seconds, min_n = msg
        acall = calls[name]
        conn.send(
            _measure(lambda n, c=acall, k=conc: loop.run_until_complete(_drive_async(c, n, k)), n_warm, seconds, min_n)
        )
    loop.run_until_complete(close())
    loop.close()


class _DecodeFilter:
    """Answers ``("decode", endpoint, seconds, min_n)`` requests itself; passes the rest on."""

    def __init__(self, kind: str, conn: Any) -> None:
        self.kind, self.conn = kind, conn

    def recv(self) -> Any:
        while True:
            msg = self.conn.recv()
            if msg is None or msg[0] != "decode":
                return msg
            self.conn.send(_measure_decode(self.kind, msg[1], msg[2], msg[3]))

    def send(self, obj: Any) -> None:
        self.conn.send(obj)


class _Worker:
    def __init__(self, kind: str, base_url: str) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(kind, base_url, child), daemon=True)
        self.process.start()

    def measure(self, *cell: Any) -> dict[str, float]:
        self.conn.send(cell)
        result: dict[str, float] = self.conn.recv()
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


# -- the benchmark -----------------------------------------------------------------------------


def measure(opts: Options, clients: tuple[str, ...] = CLIENTS) -> dict[str, Any]:
    """Raw figures: ``cells[client][endpoint][concurrency] -> [per-run dicts]`` and server load."""
    if opts.tiny:
        seconds, runs = 0.0, 1
    elif opts.quick:
        seconds, runs = 0.3, max(1, min(opts.runs, 3))
    else:
        seconds, runs = 1.0, opts.runs
    cells: dict[str, dict[str, dict[int, list[dict[str, float]]]]] = {
        c: {e: {k: [] for k in CELLS[e]} for e in ENDPOINTS} for c in clients
    }
    decode: dict[str, dict[str, list[float]]] = {c: {e: [] for e in ENDPOINTS} for c in clients}
    server_util: list[float] = []
    with CannedServer() as server:
        workers = {c: _Worker(c, server.base_url) for c in clients}
        try:
            for run in range(runs):
                opts.log(f"  B1 run {run + 1}/{runs}")
                order = list(clients[run % len(clients) :] + clients[: run % len(clients)])
                for endpoint in ENDPOINTS:
                    for client in order:
                        d = workers[client].measure("decode", endpoint, seconds / 3, 5 if opts.tiny else 30)
                        decode[client][endpoint].append(d["cpu_ms"])
                    for conc in CELLS[endpoint]:
                        n_warm = 8 if opts.tiny else max(3 * conc, 40)
                        min_n = 8 if opts.tiny else max(4 * conc, 50)
                        for client in order:
                            s0, t0 = proc_cpu_seconds(server.pid), time.perf_counter()
                            r = workers[client].measure(endpoint, conc, n_warm, seconds, min_n)
                            server_util.append((proc_cpu_seconds(server.pid) - s0) / (time.perf_counter() - t0))
                            cells[client][endpoint][conc].append(r)
        finally:
            for w in workers.values():
                w.close()
    return {
        "cells": cells,
        "decode_cpu_ms": decode,
        "runs": runs,
        "seconds_per_cell": seconds,
        "server_cpu_util_max": max(server_util),
    }


def _per_run_ratio(cells: Any, a: str, b: str, endpoint: str, conc: int, key: str = "cpu_ms") -> list[float]:
    return [x[key] / y[key] for x, y in zip(cells[a][endpoint][conc], cells[b][endpoint][conc], strict=True)]


def run(opts: Options) -> BenchResult:
    raw = measure(opts)
    cells = raw["cells"]
    res = BenchResult("B1", "client overhead per request", raw=raw)
    cpu_rows, rps_rows = [], []
    worst_floor, worst_httpx = 0.0, 0.0
    for endpoint in ENDPOINTS:
        for conc in CELLS[endpoint]:
            med = {c: median(r["cpu_ms"] for r in cells[c][endpoint][conc]) for c in CLIENTS}
            vs_floor = _per_run_ratio(cells, "sdk", "floor", endpoint, conc)
            vs_httpx = _per_run_ratio(cells, "sdk", "httpx_pydantic", endpoint, conc)
            worst_floor = max(worst_floor, median(vs_floor))
            worst_httpx = max(worst_httpx, median(vs_httpx))
            cpu_rows.append(
                [
                    endpoint,
                    conc,
                    *(med[c] for c in CLIENTS),
                    f"{fmt(median(vs_floor))} ({spread(vs_floor)})",
                    f"{fmt(median(vs_httpx))} ({spread(vs_httpx)})",
                    fmt(median(_per_run_ratio(cells, "requests_json", "floor", endpoint, conc))),
                ]
            )
            rps = {c: median(r["rps"] for r in cells[c][endpoint][conc]) for c in CLIENTS}
            rps_rows.append(
                [
                    endpoint,
                    conc,
                    *(rps[c] for c in CLIENTS),
                    fmt(median(_per_run_ratio(cells, "sdk", "floor", endpoint, conc, "rps"))),
                ]
            )
    labels = [LABELS[c] for c in CLIENTS]
    res.tables.append(
        Table(
            "CPU time per request (ms of client process CPU; lower is better)",
            ["endpoint", "concurrency", *labels, "SDK / floor", "SDK / httpx+pydantic", "requests / floor"],
            cpu_rows,
            "Ratios are medians of the per-run ratios (min..max over runs in brackets).",
        )
    )
    res.tables.append(
        Table(
            "Requests per second (wall; client pinned to one core, server on the other)",
            ["endpoint", "concurrency", *labels, "SDK / floor"],
            rps_rows,
        )
    )
    dec = raw["decode_cpu_ms"]
    dec_rows = []
    for endpoint in ENDPOINTS:
        m = {c: median(dec[c][endpoint]) for c in CLIENTS if c != "sdk"}
        low = min(CELLS[endpoint])
        full_floor = median(r["cpu_ms"] for r in cells["floor"][endpoint][low])
        full_httpx = median(r["cpu_ms"] for r in cells["httpx_pydantic"][endpoint][low])
        dec_rows.append(
            [
                endpoint,
                m["floor"],
                m["httpx_pydantic"],
                m["requests_json"],
                m["floor"] / m["httpx_pydantic"],
                full_floor / full_httpx,
            ]
        )
    res.tables.append(
        Table(
            "Decoding alone (no HTTP; ms of CPU per body)",
            [
                "endpoint",
                "msgspec structs",
                "pydantic v2 model_validate_json",
                "json.loads",
                "msgspec / pydantic",
                "floor / httpx+pydantic, whole request (lowest concurrency)",
            ],
            dec_rows,
            "The last column bounds what any client built on aiohttp + msgspec can reach against httpx + pydantic.",
        )
    )
    res.goals.append(
        Goal(
            f"SDK CPU per request vs the floor (worst of the {N_CELLS} cells)",
            f"<= {GOAL_VS_FLOOR:.2f}x",
            worst_floor,
            worst_floor <= GOAL_VS_FLOOR,
            "x",
        )
    )
    res.goals.append(
        Goal(
            f"SDK CPU per request vs httpx + pydantic (worst of the {N_CELLS} cells)",
            f"<= {GOAL_VS_HTTPX:.2f}x",
            worst_httpx,
            worst_httpx <= GOAL_VS_HTTPX,
            "x",
        )
    )
    res.notes.append(
        f"Canned server peak CPU use during a cell: {raw['server_cpu_util_max']:.0%} of its core"
        " (below 100%: the server never bounded a client)."
    )
    res.notes.append(f"{raw['runs']} runs; each cell measured for about {raw['seconds_per_cell']} s after a warm-up.")
    return res

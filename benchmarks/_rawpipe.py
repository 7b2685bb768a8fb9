"""B6's baseline: the same per-file work as a ``BatchConvertJob``, in plain aiohttp, with no journal.

``python -m benchmarks._rawpipe '<json spec>'`` prints a JSON result.  The spec::

    {"base_url": ..., "api_key": ..., "inputs": dir, "output": dir, "voice_id": ...,
     "concurrency": C}

For each file, ``C`` workers: read it (one blocking read), upload it (multipart
``POST /api/recordings``), order one conversion (``POST /api/v2/orders``), ask for the
conversion until it is ``done`` (``GET /api/recordings/{id}``; the emulator runs with
no delays), and stream its audio into a temporary file renamed into place (blocking
writes: the cheapest a hand-written pipeline would do).  No journal, no events, no
retries: the floor that the orchestrator's CPU per file is measured against.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ._common import cpu_seconds, pin


async def _run(spec: dict[str, Any], inputs: list[Path], output: Path) -> dict[str, float]:
    import aiohttp
    import msgspec

    from voiceapi_async import RateLimits, VoiceClient

    async with VoiceClient(  # set-up only (not measured): the SDK's project and folder calls
        api_key=spec["api_key"], base_url=spec["base_url"], rate_limits=RateLimits.disabled()
    ) as client:
        project = await client.projects.create("bench raw pipeline")
        folder_id = (await client.folders.create(project.id, "raw")).id

    base, voice_id = spec["base_url"], spec["voice_id"]
    headers = {"api-key": spec["api_key"]}
    decode = msgspec.json.decode
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:

        async def call(method: str, path: str, **kwargs: Any) -> Any:
            async with session.request(method, base + path, **kwargs) as resp:
                body = await resp.read()
                if resp.status >= 400:
                    raise RuntimeError(f"{method} {path}: {resp.status} {body[:200]!r}")
                return decode(body)

        queue: asyncio.Queue[Path] = asyncio.Queue()
        for path in inputs:
            queue.put_nowait(path)

        async def one(path: Path) -> None:
            with open(path, "rb") as f:  # noqa: ASYNC230 - a tiny file: the cheapest read
                data = f.read()
            form = aiohttp.FormData()
            form.add_field("parent_folder_id", folder_id)
            form.add_field("microphone", "file")
            form.add_field("label", path.stem)
            form.add_field("data", data, filename=path.name, content_type="audio/wav")
            original = await call("POST", "/api/recordings", data=form)
            body = msgspec.json.encode({"original_id": original["id"], "conversions": [{"voice_id": voice_id}]})
            [order] = await call("POST", "/api/v2/orders", data=body, headers={"Content-Type": "application/json"})
            while True:
                recording = await call("GET", f"/api/recordings/{order['conversion_id']}")
                if recording["state"] == "done":
                    break
                if recording["state"] == "error":
                    raise RuntimeError(f"conversion failed: {recording}")
                await asyncio.sleep(0.05)
            destination = output / path.name
            partial = destination.with_name(f".{destination.name}.part")
            async with session.get(base + recording["url"]) as resp:
                resp.raise_for_status()
                with open(partial, "wb") as f:  # noqa: ASYNC230
                    async for chunk in resp.content.iter_chunked(256 * 1024):
                        f.write(chunk)
            os.replace(partial, destination)

        async def worker() -> None:
            while not queue.empty():
                await one(queue.get_nowait())

        cpu0, t0 = cpu_seconds(), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(spec["concurrency"])))
        wall, cpu = time.monotonic() - t0, cpu_seconds() - cpu0
    return {"wall": wall, "cpu": cpu}


def run_raw(spec: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Run the raw pipeline in a fresh process (pinned to the client core) and return its result."""
    import subprocess

    from ._common import ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._rawpipe", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the raw pipeline failed (exit {proc.returncode}): {last}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    pin("client")
    spec = json.loads(sys.argv[1])
    inputs = sorted(Path(spec["inputs"]).rglob("*.wav"))
    output = Path(spec["output"])
    output.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(_run(spec, inputs, output))
    print(json.dumps({"files": len(inputs), "done": sum(1 for _ in output.iterdir()), **result}))


if __name__ == "__main__":
    main()

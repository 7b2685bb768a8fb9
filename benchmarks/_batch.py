"""One bulk job in its own process: ``python -m benchmarks._batch '<json spec>'`` prints a JSON result.

Running the orchestrator in a process of its own gives a clean peak RSS (``VmHWM``) and CPU
time for it alone; the emulator runs in yet another process.  The spec::

    {"base_url": ..., "api_key": ..., "inputs": dir, "output": dir, "voices": 1,
     "voice_ids": [...],
     "limits": null | "adopt" | {"fast": [times, seconds], "slow": [times, seconds]},
     "job": {BatchConvertJob options}, "timeline": false, "t0": null, "allow_failures": false}

With ``timeline`` the result also holds, per rate-limit bucket, the send times of every
request (seconds from the start of the run, or from ``t0``, a ``time.monotonic()``
reading of the caller: the clock is the machine's, so several processes share it) and
the statuses of their answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import struct
import sys
import time
from pathlib import Path
from typing import Any

from ._common import cpu_seconds, pin, self_peak_rss_mb


def write_tiny_wavs(directory: Path, count: int, *, samples: int = 16, start: int = 0) -> None:
    """``count`` valid mono 16-bit 8 kHz WAVs of ``samples`` samples each, named ``f0000001.wav``...

    Spread over sub-directories of 1,000 files so no directory gets huge.
    """
    data = struct.pack(f"<{samples}h", *((i * 997) % 2000 - 1000 for i in range(samples)))
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16) + b"data" + struct.pack("<I", len(data))
    body = header + data
    for i in range(start, start + count):
        sub = directory / f"d{i // 1000:04d}"
        if i % 1000 == 0 or i == start:
            sub.mkdir(parents=True, exist_ok=True)
        with open(sub / f"f{i:07d}.wav", "wb") as f:
            f.write(body)


def write_large_wav(path: Path, size: int) -> None:
    """A valid WAV of ``size`` bytes: a header, then silence (a sparse file: cheap to create)."""
    data_len = size - 44
    header = b"RIFF" + struct.pack("<I", size - 8) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16) + b"data" + struct.pack("<I", data_len)
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(size)


def _rss_mb(field: str = "VmRSS") -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _sample_memory(samples: list[tuple[float, float, float, float]], every: float) -> None:
    """(seconds, RSS, anonymous RSS, file-backed RSS) every ``every`` seconds: how memory grows during a run."""
    t0 = time.monotonic()
    while True:
        samples.append((round(time.monotonic() - t0, 1), _rss_mb(), _rss_mb("RssAnon"), _rss_mb("RssFile")))
        await asyncio.sleep(every)


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    from voiceapi_async import RateLimit, RateLimits, VoiceClient
    from voiceapi_async.jobs import BatchConvertJob, Target

    limits = spec.get("limits")
    if limits is None:
        rate_limits = RateLimits.disabled(max_in_flight=256)
    elif limits == "adopt":  # enabled: the job then adopts the account's own limits (one auth.me() call)
        rate_limits = RateLimits()
    else:
        rate_limits = RateLimits(
            fast=RateLimit(times=limits["fast"][0], seconds=limits["fast"][1]),
            slow=RateLimit(times=limits["slow"][0], seconds=limits["slow"][1]),
            max_in_flight=64,
        )
    timeline: dict[str, list[Any]] = {"fast": [], "slow": []}
    t_start = time.monotonic()
    origin: float | None = spec.get("t0")

    def hook(event: Any) -> None:
        if event.kind == "response":
            base = t_start if origin is None else origin
            timeline[event.bucket].append((round(time.monotonic() - base - event.elapsed, 4), event.status))

    async with VoiceClient(api_key=spec["api_key"], base_url=spec["base_url"], rate_limits=rate_limits) as client:
        if spec.get("timeline"):
            client.add_event_hook(hook)
        if "large_file" in spec:
            return await _upload_large(client, spec["large_file"])
        targets = [Target(v, label=f"V{i}") for i, v in enumerate(spec["voice_ids"])]
        job = BatchConvertJob(client, spec["inputs"], targets, spec["output"], **spec.get("job", {}))
        rss0, cpu0 = _rss_mb(), cpu_seconds()
        memory: list[tuple[float, float, float, float]] = []
        sampler = asyncio.ensure_future(_sample_memory(memory, spec.get("memory_every", 5.0)))
        t_start = time.monotonic()
        summary = await job.run_to_completion()
        wall = time.monotonic() - t_start
        sampler.cancel()
    journal = Path(summary.journal_path)
    journal_bytes = sum(p.stat().st_size for p in journal.parent.glob(journal.name + "*") if p.is_file())
    return {
        "done": summary.done,
        "failed": summary.failed,
        "total": summary.total,
        "status": str(summary.status),
        "requests": summary.requests,
        "requests_by_endpoint": summary.requests_by_endpoint,
        "rate_limited": summary.rate_limited,
        "failures": [f"{f.name}: {f.stage}: {f.reason}" for f in summary.failures[:5]],
        "wall": wall,
        "cpu": cpu_seconds() - cpu0,
        "rss_before_job_mb": rss0,
        "peak_rss_mb": self_peak_rss_mb(),
        "journal_bytes": journal_bytes,
        "memory_timeline": memory,
        "timeline": timeline if spec.get("timeline") else None,
    }


async def _upload_large(client: Any, path: str) -> dict[str, Any]:
    project = await client.projects.create("bench large upload")
    folder = await client.folders.create(project.id, "large")
    hwm0 = _rss_mb("VmHWM")
    reset = _reset_peak_rss()  # so the peak below is the upload's, not start-up's
    rss0 = _rss_mb()
    t0 = time.monotonic()
    recording = await client.recordings.create(folder.id, path, label="large upload")
    return {
        "wall": time.monotonic() - t0,
        "recording_size": recording.size,
        "rss_before_mb": rss0,
        "peak_rss_before_mb": hwm0,
        "peak_reset": reset,
        "peak_rss_mb": _rss_mb("VmHWM"),
    }


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run_batch(spec: dict[str, Any], timeout: float = 1800) -> dict[str, Any]:
    """Run one job in a fresh process (pinned to the client core) and return its result."""
    import subprocess

    from ._common import ROOT

    env = {**os.environ, **spec.pop("env", {})}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._batch", json.dumps(spec)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"the batch process failed (exit {proc.returncode}): {last}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def voice_ids(emu: Any, count: int) -> list[str]:
    """Ids of the first ``count`` voices of the emulator's catalogue (asked before counting starts)."""
    import urllib.request

    req = urllib.request.Request(f"{emu.base_url}/api/v2/voices?limit={count}", headers={"api-key": emu.api_key})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return [v["id"] for v in json.loads(resp.read())["list"]]


def counters_diff(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """What the emulator counted between two snapshots (numbers and per-key maps).

    Snapshots are diffed rather than ``/_emulator/reset-counters`` used: a reset replaces
    the per-endpoint maps the request dispatchers hold, so they would stop being counted.
    """
    out: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, dict):
            old = old or {}
            diff = {k: v - old.get(k, 0) for k, v in value.items() if isinstance(v, (int, float))}
            out[key] = {k: v for k, v in diff.items() if v}
        elif isinstance(value, (int, float)) and isinstance(old, (int, float)):
            out[key] = value - old
        else:
            out[key] = value
    return out


def job_spec(
    emu: Any,
    inputs: Path,
    output: Path,
    voices: int,
    *,
    job: dict[str, Any] | None = None,
    limits: Any = None,
    timeline: bool = False,
) -> dict[str, Any]:
    """The spec of one ``BatchConvertJob`` against ``emu`` (see the module docstring): what ``run_batch`` runs."""
    return {
        "base_url": emu.base_url,
        "api_key": emu.api_key,
        "inputs": str(inputs),
        "output": str(output),
        "voice_ids": voice_ids(emu, voices),
        "limits": limits,
        "job": job or {},
        "timeline": timeline,
    }


def batch_against(
    emu: Any,
    inputs: Path,
    output: Path,
    voices: int,
    *,
    job: dict[str, Any] | None = None,
    limits: Any = None,
    timeline: bool = False,
) -> dict[str, Any]:
    """Run one ``BatchConvertJob`` in its own process against ``emu``; add the server's view to the result."""
    spec = job_spec(emu, inputs, output, voices, job=job, limits=limits, timeline=timeline)
    before = emu.counters()
    cpu0, t0 = emu.cpu_seconds(), time.monotonic()
    result = run_batch(spec)
    result["process_wall"] = time.monotonic() - t0
    result["emulator_cpu"] = emu.cpu_seconds() - cpu0
    result["server"] = counters_diff(emu.counters(), before)
    if result["failed"] or result["done"] != result["total"]:
        raise RuntimeError(f"the batch did not complete: {result['status']}, failures: {result['failures']}")
    return result


def main() -> None:
    pin("client")
    spec = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(_run(spec))))


if __name__ == "__main__":
    main()

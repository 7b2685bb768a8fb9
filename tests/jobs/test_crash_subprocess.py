"""Crash and resume for real: the job runs in a subprocess that is SIGKILLed at random moments.

The emulator runs in this test's event loop, so its counters see every request of
every attempt.  After several kills a last run must finish every file, with zero
duplicate uploads and zero duplicate orders.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from voiceapi_async.emulator import Emulator, FaultConfig

from .helpers import make_tree

ROOT = Path(__file__).resolve().parents[2]
N_FILES = 24
KILLS = 5


async def _spawn(emu: Emulator, tmp_path: Path, voices: list[str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.jobs.crash_worker",
        emu.base_url,
        emu.api_key,
        str(tmp_path / "in"),
        str(tmp_path / "out"),
        *voices,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


@pytest.mark.slow
async def test_sigkill_at_random_moments_then_resume(tmp_path: Path, emu: Emulator, voice_names: list[str]) -> None:
    make_tree(tmp_path / "in", N_FILES)
    voices = voice_names[:2]
    # A little latency everywhere so that kills land inside requests, not only between them.
    emu.set_faults(FaultConfig(latency=0.004, latency_jitter=0.01, seed=7))
    rng = random.Random(20261127)
    killed_after: list[int] = []
    for _ in range(KILLS):
        proc = await _spawn(emu, tmp_path, voices)
        assert proc.stdout is not None
        target = rng.randint(1, 30)
        seen = 0
        while seen < target:
            line = await asyncio.wait_for(proc.stdout.readline(), 30)
            if not line or line.startswith(b"SUMMARY"):
                break
            seen += 1
        await asyncio.sleep(rng.uniform(0, 0.03))  # not always right after an event
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
        killed_after.append(seen)
    assert sum(killed_after) > 0
    # Resume to completion.
    proc = await _spawn(emu, tmp_path, voices)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()[-2000:]
    summary_line = out.decode().strip().splitlines()[-1]
    assert summary_line == f"SUMMARY completed {N_FILES} 0", summary_line
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == N_FILES, snap["uploads_by_label"]
    assert max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == N_FILES
    assert max(snap["orders_by_original"].values()) == 1
    assert snap["conversions_created"] == N_FILES * len(voices)
    outputs = sorted(p for p in (tmp_path / "out").rglob("*.wav"))
    assert len(outputs) == N_FILES * len(voices)
    assert not list((tmp_path / "out").rglob("*.part"))


@pytest.mark.slow
async def test_kills_under_faults_then_resume_sends_nothing_twice(
    tmp_path: Path, emu: Emulator, voice_names: list[str]
) -> None:
    """The invariant under chaos: 5xx, resets before and after the server acts, a 429 burst, and kills."""
    files = 40
    make_tree(tmp_path / "in", files)
    voices = voice_names[:1]
    rng = random.Random(7)
    faults = FaultConfig(error_rate=0.10, reset_before_rate=0.025, reset_after_rate=0.025, seed=11)
    emu.set_faults(faults)
    for kill in range(3):
        proc = await _spawn(emu, tmp_path, voices)
        assert proc.stdout is not None
        for _ in range(rng.randint(5, 60)):
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if not line or line.startswith(b"SUMMARY"):
                break
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
        if kill == 1:  # the next run starts into a burst of 429s longer than the SDK's retries
            emu.set_faults(FaultConfig(**{**faults.__dict__, "burst_429": 12, "burst_429_retry_after": 0.01}))
    last = ""
    for _ in range(3):  # faults still on: a run may leave items pending (never failed); the next goes on
        proc = await _spawn(emu, tmp_path, voices)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()[-2000:]
        last = out.decode().strip().splitlines()[-1]
        if last.startswith("SUMMARY completed"):
            break
    assert last == f"SUMMARY completed {files} 0", last
    snap = emu.counters.snapshot()
    assert snap["errors_injected"] + snap["resets_injected"] > 0
    assert snap["uploads_total"] == files and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == files and max(snap["orders_by_original"].values()) == 1
    assert len(list((tmp_path / "out").rglob("*.wav"))) == files
    assert not list((tmp_path / "out").rglob("*.part"))

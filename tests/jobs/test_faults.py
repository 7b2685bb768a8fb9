"""Injected faults: every item still ends done or failed with a reason, and nothing is sent twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator, EmulatorConfig, FaultConfig
from voiceapi_async.jobs import BatchConvertJob, ItemFailed, ItemUploaded, JobStatus

from .conftest import JOB_FAST, fast_config
from .helpers import make_tree

FAST = {**JOB_FAST, "retry_delay": 0.01}


def _assert_no_duplicates(emu: Emulator, n: int) -> None:
    snap = emu.counters.snapshot()
    assert snap["uploads_total"] == n, snap
    assert max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == n
    assert max(snap["orders_by_original"].values()) == 1


@pytest.mark.parametrize(
    "faults",
    [
        FaultConfig(error_rate=0.15, seed=1),
        FaultConfig(reset_before_rate=0.15, seed=2),
        FaultConfig(reset_after_rate=0.15, seed=3),
        FaultConfig(latency=0.005, latency_jitter=0.02, error_rate=0.05, reset_after_rate=0.05, seed=4),
    ],
    ids=["5xx", "reset-before", "reset-after", "mixed-latency"],
)
async def test_faults_everything_done_once(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str], faults: FaultConfig
) -> None:
    make_tree(tmp_path / "in", 24)
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:2], tmp_path / "out", **FAST)
    await job.plan()
    emu.set_faults(faults)
    events = [e async for e in job.run()]
    emu.set_faults()
    summary = job.summary
    assert summary is not None
    assert summary.done + summary.failed == 24
    assert summary.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_FAILURES)
    for failure in summary.failures:
        assert failure.reason
    # Faults were really met, and reconciliation found what reached the server.
    snap = emu.counters.snapshot()
    assert snap["errors_injected"] + snap["resets_injected"] > 0
    if faults.reset_after_rate:
        assert any(isinstance(e, ItemUploaded) and e.reconciled for e in events) or summary.done == 24
    # With 4 attempts per step, a 15 % fault rate leaves every item done.
    assert summary.done == 24, summary.failures
    _assert_no_duplicates(emu, 24)
    assert not [e for e in events if isinstance(e, ItemFailed)]


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return fast_config()


async def test_429_burst_is_absorbed(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 10)
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", **FAST)
    await job.plan()
    emu.set_faults(
        FaultConfig(burst_429=12, burst_429_retry_after=0.01, endpoints=("recordings.create", "orders.create"))
    )
    summary = await job.run_to_completion()
    assert summary.status is JobStatus.COMPLETED
    assert summary.rate_limited == 12
    _assert_no_duplicates(emu, 10)


async def test_errored_conversions_are_retried_then_fail_with_reason(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 6)
    emu.config.conversion_error_rate = 1.0
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_conversion_retries=2, **FAST)
    events = [e async for e in job.run()]
    summary = job.summary
    assert summary is not None
    assert summary.status is JobStatus.COMPLETED_WITH_FAILURES
    assert summary.failed == 6 and summary.done == 0
    assert all("Conversion failed" in f.reason for f in summary.failures)
    assert emu.counters.snapshot()["retries_total"] == 12
    assert summary.conversion_retries == 12
    assert sum(isinstance(e, ItemFailed) for e in events) == 6


async def test_errored_conversions_recover_on_retry(
    tmp_path: Path, emu: Emulator, client: VoiceClient, voice_names: list[str]
) -> None:
    make_tree(tmp_path / "in", 12)
    emu.config.conversion_error_rate = 0.5
    job = BatchConvertJob(client, tmp_path / "in", voice_names[:1], tmp_path / "out", max_conversion_retries=8, **FAST)
    summary = await job.run_to_completion()
    assert summary.done == 12, summary.failures
    assert summary.conversion_retries == emu.counters.snapshot()["retries_total"] > 0

"""Every stage shares the client's rate limiter: a job paced by the account's limits meets no 429."""

from __future__ import annotations

from pathlib import Path

from voiceapi_async import RateLimits, RetryPolicy, VoiceClient
from voiceapi_async.emulator import Emulator, RateLimitConfig
from voiceapi_async.jobs import BatchConvertJob

from .conftest import JOB_FAST, fast_config
from .helpers import make_tree


async def test_job_paced_by_account_limits_sees_no_429(tmp_path: Path) -> None:
    make_tree(tmp_path / "in", 16)
    config = fast_config(rate_limits=RateLimitConfig.per_second(40, 12))
    async with Emulator(config) as emu:
        names = [v.name for v in emu.store.catalogue.voices[:2]]
        retry = RetryPolicy(max_retries=4, backoff_base=0.01, backoff_max=0.05)
        async with VoiceClient(
            api_key=emu.api_key, base_url=emu.base_url, rate_limits=RateLimits(), retry=retry
        ) as client:
            limits = await client.adopt_account_rate_limits()
            assert limits.slow is not None and limits.slow.times == 12
            summary = await BatchConvertJob(
                client, tmp_path / "in", names, tmp_path / "out", upload_concurrency=8, **JOB_FAST
            ).run_to_completion()
        snap = emu.counters.snapshot()
    assert summary.done == 16
    assert summary.rate_limited == 0 and snap["rate_limited"] == 0
    assert client.rate_limiter.throttled > 0  # the limiter did pace the job

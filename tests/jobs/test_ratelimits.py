"""Every stage shares the client's rate limiter: a job paced by the account's limits meets no 429."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceapi_async import HTTPEvent, RateLimits, RetryPolicy, VoiceClient
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


async def test_a_shared_store_failing_mid_job_stops_it_cleanly_and_a_rerun_resumes(tmp_path: Path) -> None:
    """Redis dies after a few uploads: the job stops (nothing sent blind); a re-run with a store finishes it."""
    from tests.servers import redis_server
    from voiceapi_async import RateLimitStoreError, VoiceAPIError
    from voiceapi_async.jobs import JobStatus, JobStoppedError

    make_tree(tmp_path / "in", 12)
    config = fast_config(rate_limits=RateLimitConfig.per_second(200, 100))
    retry = RetryPolicy(max_retries=4, backoff_base=0.01, backoff_max=0.05)
    async with Emulator(config) as emu:
        names = [v.name for v in emu.store.catalogue.voices[:1]]
        with redis_server() as server:
            async with VoiceClient(
                api_key=emu.api_key,
                base_url=emu.base_url,
                retry=retry,
                rate_limit_store=server.url,
                rate_limit_store_timeout=1.0,
            ) as client:

                def kill_after_uploads(event: HTTPEvent) -> None:
                    if emu.counters.uploads_total >= 4:
                        server.stop()

                client.add_event_hook(kill_after_uploads)
                job = BatchConvertJob(
                    client, tmp_path / "in", names, tmp_path / "out", upload_concurrency=2, **JOB_FAST
                )
                with pytest.raises(JobStoppedError, match="shared rate-limit store") as info:
                    await job.run_to_completion()
                assert isinstance(info.value.__cause__, RateLimitStoreError)
                assert isinstance(info.value.__cause__, VoiceAPIError)
                assert info.value.summary.status is JobStatus.STOPPED
                assert info.value.summary.done < 12
                sent_when_stopped = emu.counters.requests_total
        with redis_server() as server:
            async with VoiceClient(
                api_key=emu.api_key, base_url=emu.base_url, retry=retry, rate_limit_store=server.url
            ) as client:
                summary = await BatchConvertJob(
                    client, tmp_path / "in", names, tmp_path / "out", upload_concurrency=2, **JOB_FAST
                ).run_to_completion()
        snap = emu.counters.snapshot()
    assert sent_when_stopped > 0
    assert summary.done == 12 and summary.failed == 0
    assert snap["uploads_total"] == 12 and max(snap["uploads_by_label"].values()) == 1
    assert snap["orders_total"] == 12 and max(snap["orders_by_original"].values()) == 1
    assert snap["rate_limited"] == 0

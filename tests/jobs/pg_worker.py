"""One worker of a job shared on PostgreSQL; prints one line per event.  The test SIGKILLs one of three.

Usage: python -m tests.jobs.pg_worker BASE_URL API_KEY INPUT_DIR OUTPUT_DIR PG_URL JOB_ID LEASE VOICE [VOICE...]
"""

from __future__ import annotations

import asyncio
import sys

import msgspec

from voiceapi_async import RateLimits, RetryPolicy, VoiceClient
from voiceapi_async.jobs import BatchConvertJob


async def main(argv: list[str]) -> int:
    base_url, api_key, inputs, output, pg_url, job_id, lease, *voices = argv
    retry = RetryPolicy(max_retries=4, backoff_base=0.01, backoff_max=0.05)
    async with VoiceClient(
        api_key=api_key, base_url=base_url, rate_limits=RateLimits.disabled(), retry=retry
    ) as client:
        job = BatchConvertJob(
            client,
            inputs,
            voices,
            output,
            journal=pg_url,
            job_id=job_id,
            lease_seconds=float(lease),
            upload_concurrency=2,
            download_concurrency=2,
            poll_interval=0.05,
            max_poll_interval=0.2,
            retry_delay=0.01,
        )
        async for event in job.run():
            sys.stdout.write(msgspec.json.encode(event).decode() + "\n")
            sys.stdout.flush()
    assert job.summary is not None
    summary = job.summary
    sys.stdout.write(f"SUMMARY {summary.status.value} {summary.done} {summary.failed} {summary.output_count}\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

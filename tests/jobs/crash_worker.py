"""Runs one BatchConvertJob and prints one line per event; the crash test SIGKILLs it at random moments.

Usage: python -m tests.jobs.crash_worker BASE_URL API_KEY INPUT_DIR OUTPUT_DIR VOICE [VOICE...]
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import msgspec

from voiceapi_async import RateLimits, RetryPolicy, VoiceClient
from voiceapi_async.jobs import BatchConvertJob, JobSummary


async def run_printing_events(
    base_url: str, api_key: str, inputs: str, output: str, voices: list[str], **options: Any
) -> JobSummary:
    """One job with quick retries and polls (``options`` added), each event printed as a JSON line as it comes."""
    retry = RetryPolicy(max_retries=4, backoff_base=0.01, backoff_max=0.05)
    async with VoiceClient(
        api_key=api_key, base_url=base_url, rate_limits=RateLimits.disabled(), retry=retry
    ) as client:
        job = BatchConvertJob(
            client,
            inputs,
            voices,
            output,
            upload_concurrency=2,
            download_concurrency=2,
            poll_interval=0.05,
            max_poll_interval=0.2,
            retry_delay=0.01,
            **options,
        )
        async for event in job.run():
            sys.stdout.write(msgspec.json.encode(event).decode() + "\n")
            sys.stdout.flush()
    assert job.summary is not None
    return job.summary


async def main(argv: list[str]) -> int:
    base_url, api_key, inputs, output, *voices = argv
    summary = await run_printing_events(base_url, api_key, inputs, output, voices)
    sys.stdout.write(f"SUMMARY {summary.status.value} {summary.done} {summary.failed}\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

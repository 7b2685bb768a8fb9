"""One worker of a job shared on PostgreSQL; prints one line per event.  The test SIGKILLs one of three.

Usage: python -m tests.jobs.pg_worker BASE_URL API_KEY INPUT_DIR OUTPUT_DIR PG_URL JOB_ID LEASE VOICE [VOICE...]
"""

from __future__ import annotations

import asyncio
import sys

from .crash_worker import run_printing_events


async def main(argv: list[str]) -> int:
    base_url, api_key, inputs, output, pg_url, job_id, lease, *voices = argv
    summary = await run_printing_events(
        base_url, api_key, inputs, output, voices, journal=pg_url, job_id=job_id, lease_seconds=float(lease)
    )
    sys.stdout.write(f"SUMMARY {summary.status.value} {summary.done} {summary.failed} {summary.output_count}\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))

"""The bulk poller's share of B6, counted: ``python -m benchmarks._poll_pages [N]``.

Runs B6's job (one voice, its options, emulator delays 0 and limits off) on N tiny files
(default 1,000) in this process, the emulator in another, and counts what the poller
costs per file: rounds, list pages, recordings listed (each decoded by msgspec, looked
up in the journal, offered to the subscribers) and how many of them were final, plus the
job's HTTP answers seen by its counting hook.  Counts, not time: they do not depend on
the machine's load (a listed recording costs ~15k instructions to decode alone).
Files go to the benchmarks' scratch root (``VOICEAPI_BENCH_DIR``, never ``/tmp``).
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from collections.abc import AsyncGenerator, Collection, Sequence
from typing import Any

from voiceapi_async import Recording
from voiceapi_async._pagination import AsyncPage
from voiceapi_async._resources import _polling

from ._batch import voice_ids, write_tiny_wavs
from ._common import scratch_dir
from ._emuproc import EmulatorProcess
from .b6_pipeline import JOB, _emulator_config


def _counting(stats: collections.Counter[str]) -> None:
    """Wrap the poller's pass and rounds so that each counts into ``stats``."""
    scan = _polling.scan_recordings
    join = _polling.Subscription.round

    async def counted_scan(*args: Any, **kwargs: Any) -> AsyncGenerator[tuple[int, AsyncPage[Recording]], None]:
        stats["passes"] += 1
        async for offset, page in scan(*args, **kwargs):
            stats["pages"] += 1
            stats["recordings"] += len(page.list)
            stats["final"] += sum(1 for r in page.list if r.is_final)
            yield offset, page

    def counted_round(sub: _polling.Subscription, wanted: Collection[str] = (), **kwargs: Any) -> Any:
        stats["rounds"] += 1
        stats["waited for"] += len(wanted)
        return join(sub, wanted, **kwargs)

    _polling.scan_recordings = counted_scan
    _polling.Subscription.round = counted_round  # type: ignore[method-assign,assignment]


async def _job(n: int, stats: collections.Counter[str]) -> dict[str, Any]:
    from voiceapi_async import RateLimits, VoiceClient
    from voiceapi_async.jobs import BatchConvertJob, Target

    base = scratch_dir("poll_pages")
    write_tiny_wavs(base / "in", n)
    with EmulatorProcess(_emulator_config()) as emu:
        voice = voice_ids(emu, 1)[0]
        limits = RateLimits.disabled(max_in_flight=256)
        async with VoiceClient(api_key=emu.api_key, base_url=emu.base_url, rate_limits=limits) as client:
            options: dict[str, Any] = dict(JOB)
            job = BatchConvertJob(client, base / "in", [Target(voice, label="V0")], base / "out", **options)
            cpu = time.process_time()
            summary = await job.run_to_completion()
            cpu = time.process_time() - cpu
    return {"done": summary.done, "answers": summary.requests, "cpu_ms_per_file": round(1000 * cpu / n, 3)}


def main(argv: Sequence[str]) -> None:
    n = int(argv[0]) if argv else 1000
    stats: collections.Counter[str] = collections.Counter()
    _counting(stats)
    result = asyncio.run(_job(n, stats))
    per_file = {k: round(v / n, 3) for k, v in stats.items()}
    print(json.dumps({"files": n, **result, "per file": per_file, "answers per file": result["answers"] / n}))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Speak many texts with ``TTSJob``, convert each into a voice, and print the job's events as they arrive.

    python examples/tts_pipeline.py lines.jsonl out/ --voice Aurora   # {"text": ..., "label": ...} a line
    python examples/tts_pipeline.py --emulator out/                  # no account: built-in texts, local emulator

Texts over the API's 1000 characters are split at sentence boundaries, each part its own
item (keys ``2.1``, ``2.2``...), their audio joined into one file.  Every event is a typed, immutable struct: match on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voiceapi_async import VoiceClient
from voiceapi_async.emulator import Emulator, EmulatorConfig, RateLimitConfig
from voiceapi_async.jobs import (
    ItemConverted,
    ItemDone,
    ItemDownloaded,
    ItemFailed,
    ItemOrdered,
    ItemRetried,
    ItemSynthesized,
    JobEvent,
    JobSummary,
    PartsJoined,
    TextItem,
    TTSInputs,
    TTSJob,
)

LONG = " ".join(
    f"Chapter {n}. The lighthouse keeper climbed the stairs again, counting every step as the storm rolled in."
    for n in range(1, 16)
)
TEXTS: list[str | TextItem] = [
    "Welcome to the voiceapi-async text-to-speech pipeline.",
    TextItem("This line has its own label, which names its output file.", label="labelled"),
    LONG,  # over 1000 characters: split into parts
]


def describe(event: JobEvent) -> str:
    match event:
        case ItemSynthesized(original_id=original):
            return f"spoken      {event.key:<5} {event.name!r} -> {original}"
        case ItemOrdered(conversion_ids=ids):
            return f"ordered     {event.key:<5} {len(ids)} conversion(s)"
        case ItemRetried(target=target, attempt=attempt, error=error):
            return f"retried     {event.key:<5} {target} (attempt {attempt}: {error})"
        case ItemConverted(target=target):
            return f"converted   {event.key:<5} {target}"
        case ItemDownloaded(path=path, size=size):
            return f"downloaded  {event.key:<5} {path} ({size} bytes)"
        case ItemDone(outputs=outputs):
            return f"done        {event.key:<5} {len(outputs)} file(s)"
        case ItemFailed(stage=stage, reason=reason):
            return f"FAILED      {event.key:<5} at {stage}: {reason}"
        case PartsJoined(parts=parts, path=path):
            return f"joined      {event.key:<5} {parts} parts -> {path}"
    return f"{type(event).__name__:<11} {event.key}"


async def speak(
    texts: TTSInputs,
    output_dir: str | Path,
    voice: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    **job_options: Any,
) -> JobSummary:
    """Speak ``texts`` (a list, or a .txt/.csv/.jsonl path), convert each into ``voice``, download the results."""
    async with VoiceClient(api_key=api_key, base_url=base_url) as client:
        job = TTSJob(client, texts, output_dir, targets=[voice], **job_options)
        async with contextlib.aclosing(job.run()) as events:
            async for event in events:
                print(describe(event))
    assert job.summary is not None
    summary = job.summary
    print(f"{summary.status.value}: {summary.done} of {summary.total} items, {len(summary.output_files)} files")
    return summary


async def speak_with_emulator(output_dir: str | Path, texts: TTSInputs = TEXTS, **job_options: Any) -> JobSummary:
    config = EmulatorConfig(original_delay=0.1, conversion_delay=(0.2, 0.4), rate_limits=RateLimitConfig.off())
    async with Emulator(config) as emu:
        voice = "Aurora"  # a named voice: in every emulator, whatever its seed
        job_options.setdefault("poll_interval", 0.2)
        return await speak(texts, output_dir, voice, api_key=emu.api_key, base_url=emu.base_url, **job_options)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts", nargs="?", help="a .txt, .csv or .jsonl file of texts")
    parser.add_argument("output_dir", nargs="?", default="spoken")
    parser.add_argument("--voice", help="the voice (name or id) to convert each text into")
    parser.add_argument("--emulator", action="store_true", help="built-in texts against a local emulator")
    args = parser.parse_args(argv)
    if args.emulator:
        summary = asyncio.run(speak_with_emulator(args.texts or args.output_dir))
    else:
        if not args.texts or not args.voice:
            parser.error("give a texts file and --voice (or --emulator)")
        summary = asyncio.run(speak(args.texts, args.output_dir, args.voice))
    return 0 if summary.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

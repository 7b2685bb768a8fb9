"""Account and catalogue commands: voices, credits, stats, emulator."""

from __future__ import annotations

import argparse

import msgspec

from .._client import VoiceClient
from ._output import Output

__all__ = ["add_account_commands"]


def add_account_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    voices = sub.add_parser("voices", parents=[common], help="list, filter or search the marketplace voices")
    voices.add_argument("--search", metavar="NAME", help="search voices by name")
    for name, choices in (
        ("visibility", ["public", "paid", "private", "kids"]),
        ("species", ["human", "animal", "other"]),
        ("gender", ["male", "female"]),
        ("age-group", ["child", "young", "adult", "senior"]),
        ("pitch-group", ["low", "mid", "high"]),
    ):
        voices.add_argument(f"--{name}", action="append", choices=choices, help="filter (repeatable)")
    voices.add_argument("--nationality", action="append", help="filter (repeatable)")
    voices.add_argument(
        "--sort", choices=["default", "name", "pitch", "rating", "created_at"], help="order of the listing"
    )
    voices.add_argument("--limit", type=int, default=None, help="at most this many voices (default: all)")
    voices.set_defaults(handler=cmd_voices)

    credits = sub.add_parser("credits", parents=[common], help="the credits left on the account")
    credits.set_defaults(handler=cmd_credits)

    stats = sub.add_parser("stats", parents=[common], help="the account's conversion statistics")
    stats.set_defaults(handler=cmd_stats)


def _as_json(args: argparse.Namespace, value: object, out: Output) -> bool:
    if getattr(args, "json", False):
        out.line(msgspec.json.encode(value).decode())
        return True
    return False


async def cmd_voices(client: VoiceClient, args: argparse.Namespace, out: Output) -> int:
    if args.search:
        voices = await client.voices.search(args.search, limit=min(args.limit or 10, 10))
    else:
        voices = []
        async for voice in client.voices.list(
            limit=min(args.limit or 100, 100),  # the API's largest page
            sort=args.sort,
            visibility=args.visibility,
            species=args.species,
            gender=args.gender,
            age_group=args.age_group,
            pitch_group=args.pitch_group,
            nationality=args.nationality,
        ):
            voices.append(voice)
            if args.limit is not None and len(voices) >= args.limit:
                break
    if _as_json(args, voices, out):
        return 0
    rows = [
        (
            v.name,
            v.id,
            v.gender or "",
            v.age_group or "",
            v.pitch_group or "",
            v.nationality or "",
            ", ".join(a.name or a.id for a in v.accents),
            ", ".join(s.name or s.id for s in v.narration_styles),
        )
        for v in voices
    ]
    out.table(
        f"{len(rows)} voices",
        ["name", "id", "gender", "age", "pitch", "nationality", "accents", "narration styles"],
        rows,
    )
    return 0


async def cmd_credits(client: VoiceClient, args: argparse.Namespace, out: Output) -> int:
    credits = await client.credits.get()
    if not _as_json(args, credits, out):
        out.line(f"credits: {credits.credits:g} of {credits.initial_credits:g} (seconds of conversion)")
    return 0


async def cmd_stats(client: VoiceClient, args: argparse.Namespace, out: Output) -> int:
    stats = await client.stats.get()
    if _as_json(args, stats, out):
        return 0
    c, t = stats.conversions, stats.time_converted
    out.table(
        "conversions",
        ["total", "completed", "in progress", "failed", "seconds converted", "this month"],
        [(c.total, c.completed, c.in_progress, c.failed, f"{t.total:g}", f"{t.current_month:g}")],
    )
    if stats.models:
        out.table(
            "by voice",
            ["voice", "conversions", "seconds"],
            [(m.name, m.conversions_count, f"{m.converted_time:g}") for m in stats.models],
        )
    return 0

"""The ``voiceapi-async`` command.

Exit codes scripts can rely on:

====  ==========================================================
0     success (every item done)
1     the run finished but some items failed (see the report)
2     bad usage or bad input (nothing was sent)
3     authentication failed (401/403): check the api key
4     not enough credits (402), or the plan cannot be paid
5     the API could not be reached, or kept failing
130   interrupted (Ctrl-C); the journal is consistent: run again to resume
====  ==========================================================
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from .._client import VoiceClient
from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    InsufficientCreditsError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitStoreError,
    VoiceAPIError,
)
from .._version import __version__
from ._commands import add_account_commands
from ._output import Output

__all__ = [
    "EXIT_AUTH",
    "EXIT_CREDITS",
    "EXIT_FAILED_ITEMS",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_FAILED_ITEMS = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CREDITS = 4
EXIT_NETWORK = 5
EXIT_INTERRUPTED = 130

Handler = Callable[[VoiceClient, argparse.Namespace, Output], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceapi-async",
        description="Batch voice conversion and TTS with the Voice Marketplace API.",
        epilog="Environment: VOICEAPI_API_KEY, VOICEAPI_BASE_URL.  Exit codes: 0 ok, 1 some items failed, "
        "2 usage or bad input, 3 authentication, 4 credits or unaffordable plan, 5 network, "
        "130 interrupted (run the same command again to resume).",
    )
    parser.add_argument("--version", action="version", version=f"voiceapi-async {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-key", default=None, help="API key (default: $VOICEAPI_API_KEY)")
    common.add_argument("--base-url", default=None, help="API base URL (default: $VOICEAPI_BASE_URL or the service)")
    common.add_argument("--json", action="store_true", help="print results as JSON")
    common.add_argument("--plain", action="store_true", help="no colours or live progress bars")
    common.add_argument("-v", "--verbose", action="count", default=0, help="log requests (-v retries, -vv all)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_account_commands(sub, common)
    from ._jobs import add_job_commands

    add_job_commands(sub, common)
    emulator = sub.add_parser("emulator", help="run the local API emulator", add_help=False)
    emulator.add_argument("emulator_args", nargs=argparse.REMAINDER)
    emulator.set_defaults(handler=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voiceapi-async`` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["emulator"]:
        from ..emulator import main as emulator_main

        return emulator_main(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    out = Output(plain=args.plain or args.json)
    _configure_logging(args.verbose)
    runner: Callable[[argparse.Namespace, Output], Coroutine[Any, Any, int]] | None = getattr(args, "runner", None)
    try:
        if runner is not None:
            return asyncio.run(runner(args, out))
        return asyncio.run(_with_client(args.handler, args, out))
    except KeyboardInterrupt:
        out.message("interrupted; what was done is journaled — run the same command again to resume")
        return EXIT_INTERRUPTED
    except VoiceAPIError as exc:
        return report_error(exc, out)


def report_error(exc: VoiceAPIError, out: Output) -> int:
    """Print what went wrong and what to do; return the matching exit code."""
    if isinstance(exc, InvalidRequestError):
        out.error(str(exc))
        return EXIT_USAGE
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        out.error(f"{exc} — check --api-key / VOICEAPI_API_KEY")
        return EXIT_AUTH
    if isinstance(exc, InsufficientCreditsError):
        out.error(f"{exc} — top up the account's credits, then run the same command again to resume")
        return EXIT_CREDITS
    if isinstance(exc, (APIConnectionError, APIStatusError, APIResponseValidationError, RateLimitStoreError)):
        out.error(str(exc))
        return EXIT_NETWORK
    out.error(str(exc))
    return EXIT_USAGE


def make_client(args: argparse.Namespace, **kwargs: Any) -> VoiceClient:
    api_key = args.api_key or os.environ.get("VOICEAPI_API_KEY")
    if not api_key:
        raise InvalidRequestError("no API key: pass --api-key or set VOICEAPI_API_KEY")
    return VoiceClient(api_key=api_key, base_url=args.base_url, **kwargs)


async def _with_client(handler: Handler, args: argparse.Namespace, out: Output) -> int:
    async with make_client(args) as client:
        return await handler(client, args, out)


def _configure_logging(verbosity: int) -> None:
    import logging

    if verbosity:
        logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("voiceapi_async").setLevel(logging.INFO if verbosity == 1 else logging.DEBUG)

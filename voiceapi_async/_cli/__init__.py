"""The ``voiceapi-async`` command.

Exit codes scripts can rely on:

====  ==========================================================
0     success (every item done)
1     the run finished but some items failed (see the report)
2     bad usage or bad input (nothing was sent)
3     authentication failed (401/403): check the api key
4     not enough credits (402), or the plan cannot be paid
5     the API could not be reached, or kept failing
6     ``status``: the job is unfinished (run its command again to resume)
130   interrupted (Ctrl-C); the journal is consistent: run again to resume
141   stdout was closed early (``| head``): output stopped quietly
====  ==========================================================
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import urllib.parse
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from .._client import DEFAULT_BASE_URL, VoiceClient
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
    "EXIT_BROKEN_PIPE",
    "EXIT_CREDITS",
    "EXIT_FAILED_ITEMS",
    "EXIT_INTERRUPTED",
    "EXIT_NETWORK",
    "EXIT_OK",
    "EXIT_UNFINISHED",
    "EXIT_USAGE",
    "main",
]

EXIT_OK = 0
EXIT_FAILED_ITEMS = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_CREDITS = 4
EXIT_NETWORK = 5
EXIT_UNFINISHED = 6
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a process a closed pipe stopped

Handler = Callable[[VoiceClient, argparse.Namespace, Output], Awaitable[int]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceapi-async",
        description="Batch voice conversion and TTS with the Voice Marketplace API.",
        epilog="Environment: VOICEAPI_API_KEY, VOICEAPI_BASE_URL, NO_COLOR.  Exit codes: 0 ok, 1 some items failed, "
        "2 usage or bad input, 3 authentication, 4 credits or unaffordable plan, 5 network, "
        "6 unfinished job (status), 130 interrupted (run the same command again to resume).",
    )
    parser.add_argument("--version", action="version", version=f"voiceapi-async {__version__}")
    # Each command is offered only the options that do something for it: `status` reads a
    # journal offline (no key, no server, no requests to log); `demo` talks to its own emulator.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--api-key", default=None, help="API key (default: $VOICEAPI_API_KEY)")
    connection.add_argument(
        "--base-url", default=None, help="API base URL (default: $VOICEAPI_BASE_URL or the service)"
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print results as JSON")
    output.add_argument("--plain", action="store_true", help="no colours or live progress bars (also: NO_COLOR=1)")
    verbose = argparse.ArgumentParser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="count", default=0, help="log requests (-v retries, -vv all)")
    local = argparse.ArgumentParser(add_help=False, parents=[output, verbose])
    online = argparse.ArgumentParser(add_help=False, parents=[connection, output, verbose])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_account_commands(sub, online)
    from ._jobs import add_job_commands

    add_job_commands(sub, online, local=local, offline=output)
    emulator = sub.add_parser(
        "emulator", help="run the local API emulator (voiceapi-async emulator --help)", add_help=False
    )
    emulator.add_argument("emulator_args", nargs=argparse.REMAINDER, help="the emulator's options")
    emulator.set_defaults(handler=None)
    completion = sub.add_parser("completion", help="print a shell completion script (e.g. eval in ~/.bashrc)")
    completion.add_argument("shell", choices=["bash", "zsh"], help="the shell to complete for")
    completion.set_defaults(runner=cmd_completion)
    return parser


async def cmd_completion(args: argparse.Namespace, out: Output) -> int:
    """``source <(voiceapi-async completion bash)``: commands, options and file arguments."""
    try:
        import shtab
    except ImportError:
        out.error("shell completion needs shtab: pip install 'voiceapi-async[cli]'")
        return EXIT_USAGE
    out.raw(shtab.complete(build_parser(), shell=args.shell))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``voiceapi-async`` console script."""
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        # `voiceapi-async voices | head`: the reader has gone. Stop quietly, and keep the
        # interpreter's final flush of stdout from raising again on the way out.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(args_list: list[str]) -> int:
    if args_list[:1] == ["emulator"]:
        from ..emulator import main as emulator_main

        return emulator_main(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    out = Output(plain=getattr(args, "plain", False) or getattr(args, "json", False))
    _configure_logging(getattr(args, "verbose", 0))
    runner: Callable[[argparse.Namespace, Output], Coroutine[Any, Any, int]] | None = getattr(args, "runner", None)
    try:
        if runner is not None:
            return asyncio.run(runner(args, out))
        return asyncio.run(_with_client(args.handler, args, out))
    except KeyboardInterrupt:
        out.interrupted("what was done is journaled — run the same command again to resume")
        return EXIT_INTERRUPTED
    except VoiceAPIError as exc:
        return report_error(exc, out, base_url=_base_url(args))


def _base_url(args: argparse.Namespace) -> str:
    return getattr(args, "base_url", None) or os.environ.get("VOICEAPI_BASE_URL") or DEFAULT_BASE_URL


def report_error(exc: VoiceAPIError, out: Output, *, base_url: str | None = None) -> int:
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
    if isinstance(exc, APIConnectionError) and base_url:
        host = urllib.parse.urlsplit(base_url).netloc or base_url
        out.error(f"{exc} — could not reach {host}: check the network and --base-url / VOICEAPI_BASE_URL")
        return EXIT_NETWORK
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

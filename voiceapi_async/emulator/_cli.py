"""``python -m voiceapi_async.emulator`` / ``voiceapi-async emulator``: run a server until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from ._config import EmulatorConfig, FaultConfig, RateLimitConfig, RateRule
from ._emulator import Emulator

__all__ = ["build_parser", "config_from_args", "main"]


def _rule(text: str) -> RateRule:
    times, _, seconds = text.partition("/")
    try:
        return RateRule(int(times), float(seconds or 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected TIMES/SECONDS, e.g. 500/300, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="voiceapi-async emulator", description="Run the local Voice Marketplace API emulator."
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (default 8080)")
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of ids, keys, catalogue and fault dice (the named voices never change)",
    )
    p.add_argument("--users", type=int, default=2, help="seeded users, each with an api key (default 2)")
    p.add_argument("--credits", type=float, default=36_000.0, help="initial credits (seconds) per user")
    p.add_argument(
        "--processing-delay", type=float, default=None, help="seconds for originals/calibrations; conversions take 1-2x"
    )
    p.add_argument(
        "--conversion-error-rate", type=float, default=0.0, help="share of conversions that end in state error"
    )
    p.add_argument("--error-rate", type=float, default=0.0, help="share of requests answered 500/502/503")
    p.add_argument(
        "--reset-rate", type=float, default=0.0, help="share of connections reset (half before, half after acting)"
    )
    p.add_argument("--latency", type=float, default=0.0, help="added seconds per request")
    p.add_argument(
        "--fast-limit",
        type=_rule,
        default=RateRule(500, 300),
        metavar="TIMES/SECONDS",
        help="limit of 'fast' requests per account (default 500/300)",
    )
    p.add_argument(
        "--slow-limit",
        type=_rule,
        default=RateRule(100, 300),
        metavar="TIMES/SECONDS",
        help="limit of 'slow' requests (uploads, orders, TTS, exports) per account (default 100/300)",
    )
    p.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    p.add_argument(
        "--max-upload-size", type=int, default=1 << 30, metavar="BYTES", help="larger uploads get 413 (default 1 GiB)"
    )
    legal = p.add_argument_group("answer like another legal server")
    legal.add_argument(
        "--optional-fields",
        choices=("full", "null", "omit"),
        default="full",
        help="unset optional fields (not required by the OpenAPI): sent as they are (full, default), "
        "as null (null, like FastAPI) or left out (omit)",
    )
    legal.add_argument(
        "--calibrations-shape",
        choices=("page", "list"),
        default="page",
        help="GET /api/calibration answers a {list, pagination} page (default) or a bare JSON list",
    )
    legal.add_argument(
        "--stats-method",
        choices=("any", "GET", "POST"),
        default="any",
        help="methods /api/stats/projects and /api/stats/folders accept (default: any); the other answers 405",
    )
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    cfg = EmulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        users=args.users,
        initial_credits=args.credits,
        conversion_error_rate=args.conversion_error_rate,
        max_upload_size=args.max_upload_size,
        optional_fields=args.optional_fields,
        calibrations_shape=args.calibrations_shape,
        stats_method=args.stats_method,
        rate_limits=RateLimitConfig(args.fast_limit, args.slow_limit, enabled=not args.no_rate_limits),
        faults=FaultConfig(
            error_rate=args.error_rate,
            reset_before_rate=args.reset_rate / 2,
            reset_after_rate=args.reset_rate / 2,
            latency=args.latency,
        ),
    )
    if args.processing_delay is not None:
        d = args.processing_delay
        cfg.original_delay = cfg.calibration_delay = d
        cfg.conversion_delay = (d, 2 * d)
    return cfg


async def _serve(cfg: EmulatorConfig) -> None:
    async with Emulator(cfg) as emu:
        print(f"Voice Marketplace API emulator on {emu.base_url}  (Ctrl-C to stop)")  # noqa: T201
        for u in emu.users:
            print(f"  {u.email}  password={u.password}  api-key={u.api_key}  id={u.id}")  # noqa: T201
        print(f"  counters: {emu.base_url}/_emulator/counters")  # noqa: T201
        print(f"to use it: export VOICEAPI_BASE_URL={emu.base_url} VOICEAPI_API_KEY={emu.api_key}", flush=True)  # noqa: T201
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(_serve(config_from_args(args)))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"error: {exc}")  # noqa: T201
        return 1
    return 0

"""A local emulator of the Voice Marketplace API for tests, demos and benchmarks.

Real loopback HTTP (aiohttp), in-memory state, uploads streamed to a temporary
directory, time-based processing without background tasks, seeded randomness,
per-account rate limits (see ``_ratelimit`` for the exact algorithm) and fault
injection (5xx, connection resets before/after acting, latency, stalls, session
expiry, bursts of 429), with counters of every side effect::

    async with Emulator(EmulatorConfig(original_delay=0.05)) as emu:
        headers = {"api-key": emu.api_key}
        ...  # talk to emu.base_url
        emu.set_faults(FaultConfig(reset_after_rate=1.0, endpoints=("orders.create",)))
        assert emu.counters.snapshot()["orders_total"] == 1
"""

from __future__ import annotations

from ._catalogue import NAMED_VOICES
from ._config import EmulatorConfig, FaultConfig, RateLimitConfig, RateRule
from ._counters import Counters
from ._emulator import Emulator, ManualClock
from ._handlers import ALL_ROUTES
from ._store import SeededUser
from ._thread import EmulatorThread

__all__ = [
    "NAMED_VOICES",
    "ROUTE_NAMES",
    "Counters",
    "Emulator",
    "EmulatorConfig",
    "EmulatorThread",
    "FaultConfig",
    "ManualClock",
    "RateLimitConfig",
    "RateRule",
    "SeededUser",
    "main",
]

#: Route name -> ``"METHOD /template"`` of every API operation (for ``FaultConfig.endpoints``).
ROUTE_NAMES: dict[str, list[str]] = {}
for _route in ALL_ROUTES:
    ROUTE_NAMES.setdefault(_route.name, []).append(_route.key)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted (``python -m voiceapi_async.emulator --help``)."""
    from ._cli import main as _main

    return _main(argv)

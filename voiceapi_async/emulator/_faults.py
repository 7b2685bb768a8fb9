"""Fault injection: decide, per request, which failure (if any) it meets.

All dice come from one ``random.Random`` seeded from the config, so a run with the
same seed and the same request order fails the same way.
"""

from __future__ import annotations

import random

from ._config import FaultConfig

__all__ = ["FaultInjector", "FaultPlan"]


class FaultPlan:
    """What happens to one request.  ``None`` fields mean "no such fault"."""

    __slots__ = ("delay", "error_status", "expire_session", "reset_after", "reset_before", "stall", "throttle")

    def __init__(self) -> None:
        self.delay = 0.0
        self.throttle: float | None = None
        self.error_status: int | None = None
        self.reset_before = False
        self.reset_after = False
        self.stall = 0.0
        self.expire_session = False


class FaultInjector:
    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._base_seed = seed
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        self.config = config
        self.active = config.active
        self.burst_left = config.burst_429
        self.rng = random.Random(config.seed if config.seed is not None else f"faults-{self._base_seed}")
        self._targets = frozenset(config.endpoints) if config.endpoints is not None else None

    def plan(self, name: str, key: str) -> FaultPlan | None:
        """The faults for a request to route ``name`` (``key`` = ``"METHOD /template"``)."""
        if not self.active:
            return None
        targets = self._targets
        if targets is not None and name not in targets and key not in targets:
            return None
        cfg, rng = self.config, self.rng
        plan = FaultPlan()
        if cfg.latency or cfg.latency_jitter:
            plan.delay = cfg.latency + rng.uniform(0, cfg.latency_jitter)
        if self.burst_left > 0:
            self.burst_left -= 1
            plan.throttle = cfg.burst_429_retry_after
            return plan
        if cfg.error_rate and rng.random() < cfg.error_rate:
            plan.error_status = rng.choice(cfg.error_statuses)
            return plan
        if cfg.reset_before_rate and rng.random() < cfg.reset_before_rate:
            plan.reset_before = True
            return plan
        if cfg.session_expiry_rate and rng.random() < cfg.session_expiry_rate:
            plan.expire_session = True
        if cfg.reset_after_rate and rng.random() < cfg.reset_after_rate:
            plan.reset_after = True
        elif cfg.stall_rate and rng.random() < cfg.stall_rate:
            plan.stall = cfg.stall_seconds
        return plan

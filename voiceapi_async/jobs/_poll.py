"""The adaptive poll interval: back off while nothing changes (up to a cap), reset when something does."""

from __future__ import annotations

__all__ = ["PollInterval"]


class PollInterval:
    def __init__(self, minimum: float, maximum: float, backoff: float = 1.5) -> None:
        if minimum <= 0 or maximum < minimum or backoff < 1:
            raise ValueError("need 0 < poll_interval <= max_poll_interval and poll_backoff >= 1")
        self.minimum = minimum
        self.maximum = maximum
        self.backoff = backoff
        self.current = minimum

    def update(self, changed: bool) -> float:
        """The wait before the next round, given whether this round saw any change."""
        self.current = self.minimum if changed else min(self.maximum, self.current * self.backoff)
        return self.current

    def reset(self) -> None:
        self.current = self.minimum

"""The cost guard: what a job would charge, against the account's credits (seconds of conversion)."""

from __future__ import annotations

from .._client import VoiceClient
from ._events import ItemFailure, JobPlan
from ._stages import Step
from ._store import JobStore

__all__ = ["build_plan"]

_INVALID_SHOWN = 100


async def build_plan(client: VoiceClient | None, journal: JobStore) -> JobPlan:
    """Totals from the journal (durations were read from headers at discovery) and, with a client, the credits."""
    totals = await journal.plan_totals()
    credits = (await client.credits.get()).credits if client is not None else None
    rows, _ = await journal.failures(_INVALID_SHOWN)
    invalid = tuple(ItemFailure(key=k, name=n, stage=s, reason=r) for k, n, s, r in rows if s == Step.VALIDATE)
    remaining = round(totals["remaining"], 3)
    return JobPlan(
        items=int(totals["items"]),
        invalid=int(totals["invalid"]),
        total_duration=round(totals["duration"], 3),
        unknown_duration=int(totals["unknown"]),
        conversions_per_item=int(totals["targets"]),
        estimated_charge=round(totals["charge"], 3),
        remaining_charge=remaining,
        credits=credits,
        affordable=credits is None or remaining <= credits + 1e-9,
        characters=int(totals["chars"]),
        invalid_items=invalid,
    )

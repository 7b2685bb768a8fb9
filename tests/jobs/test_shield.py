"""The engine's ``Shield``: a stopped stage finishes its critical section, then starts no other."""

from __future__ import annotations

import asyncio

import anyio

from voiceapi_async.jobs._context import EngineContext, Shield


async def test_a_stop_waits_for_the_critical_section_and_no_other_starts() -> None:
    shield = Shield()
    entered, release = asyncio.Event(), asyncio.Event()
    steps: list[str] = []

    async def section(name: str) -> str:
        steps.append(f"{name} started")
        entered.set()
        await release.wait()
        steps.append(f"{name} ended")
        return name

    async def stage() -> None:
        # ``EngineContext.critical`` finds the task's shield (``self`` is not used on that path).
        steps.append(await EngineContext.critical(None, section("first")))  # type: ignore[arg-type]
        steps.append(await EngineContext.critical(None, section("second")))  # type: ignore[arg-type]

    async def release_later() -> list[str]:
        for _ in range(5):
            await asyncio.sleep(0)
        seen = list(steps)
        release.set()
        return seen

    async with anyio.create_task_group() as tg:
        tg.start_soon(shield.run, stage)
        await entered.wait()
        releaser = asyncio.create_task(release_later())  # outside the group: its cancellation does not reach it
        tg.cancel_scope.cancel()  # the group's cancellation does not reach a shielded stage...
        shield.stop()  # ...its stop does, once the section ends
    assert await releaser == ["first started"]
    assert steps == ["first started", "first ended", "first"]


async def test_a_stop_outside_a_critical_section_ends_the_stage_at_once() -> None:
    shield = Shield()
    waiting = asyncio.Event()
    ended: list[str] = []

    async def stage() -> None:
        try:
            waiting.set()
            await asyncio.Event().wait()  # an idle worker: waits for work forever
        finally:
            ended.append("idle wait left")

    async with anyio.create_task_group() as tg:
        tg.start_soon(shield.run, stage)
        await waiting.wait()
        shield.stop()
    assert ended == ["idle wait left"]


async def test_a_shield_stopped_before_its_stage_started_runs_nothing_critical() -> None:
    shield = Shield()
    shield.stop()
    started: list[str] = []

    async def section() -> None:
        started.append("section")

    async def stage() -> None:
        await EngineContext.critical(None, section())  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        tg.start_soon(shield.run, stage)
    assert started == []

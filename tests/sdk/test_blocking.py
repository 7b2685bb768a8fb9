"""The worker threads that do the SDK's blocking file work (``_blocking``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from voiceapi_async._blocking import BlockingPool


async def test_calls_run_off_the_event_loop_and_return_their_results() -> None:
    pool = BlockingPool(max_threads=2)
    loop_thread = threading.get_ident()
    ran_on = await asyncio.gather(*(pool.submit(lambda: threading.get_ident()) for _ in range(20)))
    assert loop_thread not in ran_on
    assert 1 <= len(set(ran_on)) <= 2 and pool.threads <= 2
    assert await pool.submit(divmod, 17, 5) == (3, 2)


async def test_an_exception_reaches_the_caller() -> None:
    pool = BlockingPool()
    with pytest.raises(FileNotFoundError):
        await pool.submit(open, "/nonexistent/voiceapi/file", "rb")


async def test_calls_run_at_once_up_to_the_thread_limit() -> None:
    """Three calls that wait for each other complete only if three threads run them at once (several fsyncs)."""
    pool = BlockingPool(max_threads=3)
    barrier = threading.Barrier(3, timeout=30)
    assert await asyncio.gather(*(pool.submit(barrier.wait) for _ in range(3))) is not None
    assert pool.threads == 3


async def test_a_cancelled_caller_does_not_break_the_pool() -> None:
    pool = BlockingPool(max_threads=1)
    release = threading.Event()
    blocked = pool.submit(release.wait)
    blocked.cancel()
    release.set()
    assert await pool.submit(lambda: "next") == "next"  # the same thread ran on, and settled nothing cancelled


async def test_idle_threads_end() -> None:
    pool = BlockingPool(max_threads=4, idle_seconds=0.01)
    barrier = threading.Barrier(4, timeout=30)

    def meet() -> threading.Thread:
        barrier.wait()
        return threading.current_thread()

    workers = await asyncio.gather(*(pool.submit(meet) for _ in range(4)))
    assert len(set(workers)) == 4
    for worker in workers:  # waits on the threads themselves, not on a clock
        await asyncio.to_thread(worker.join, 30)
        assert not worker.is_alive()
    assert pool.threads == 0
    assert await pool.submit(lambda: 42) == 42 and pool.threads == 1  # a new call starts a thread again


async def test_calls_that_finish_before_the_loop_looks_wake_it_once() -> None:
    """One ``call_soon_threadsafe`` (a write to the loop's self-pipe) for every outcome waiting when it runs."""
    import time

    pool = BlockingPool(max_threads=4)
    loop = asyncio.get_running_loop()
    wakeups: list[object] = []
    call_soon_threadsafe = loop.call_soon_threadsafe

    def counting(callback: Any, *args: Any, **kwargs: Any) -> asyncio.Handle:
        wakeups.append(callback)
        return call_soon_threadsafe(callback, *args, **kwargs)

    go = threading.Event()
    futures = [pool.submit(lambda n=n: (go.wait(30), n)[1]) for n in range(4)]
    futures.append(pool.submit(divmod, 1, 0))  # an error travels the same way
    inbox = pool._inboxes[loop]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "call_soon_threadsafe", counting)
        go.set()
        deadline = time.monotonic() + 30
        while len(inbox.done) < 5 and time.monotonic() < deadline:  # the loop stays busy: nobody drains
            time.sleep(0.001)
        assert await asyncio.gather(*futures[:4]) == [0, 1, 2, 3]
        with pytest.raises(ZeroDivisionError):
            await futures[4]
    assert len(wakeups) == 1

    assert await pool.submit(lambda: "again") == "again"  # the next outcome wakes the loop again


def test_an_outcome_for_a_closed_loop_is_dropped_and_the_thread_goes_on() -> None:
    pool = BlockingPool(max_threads=1)
    release = threading.Event()
    loop = asyncio.new_event_loop()

    async def submit() -> asyncio.Future[bool]:
        return pool.submit(release.wait, 30)

    loop.run_until_complete(submit())
    loop.close()  # before the call ends: its outcome has no loop to go to
    release.set()

    async def next_call() -> str:
        return await asyncio.wait_for(pool.submit(lambda: "next"), 30)  # a dead thread would never take it

    assert asyncio.run(next_call()) == "next"  # the same (only) thread took it
    assert pool.threads == 1


async def test_calls_queued_behind_a_full_pool_leave_no_phantom_idle_thread() -> None:
    """A call queued while every thread is busy is not counted as an idle thread later.

    It was: the busy thread, done with its call, counted itself idle, then took the queued
    call; done again, it counted itself idle a second time.  After the idle timeout the
    (only) thread ended but one phantom idle thread stayed counted, so the next call was
    queued for it and nobody ever ran it: the caller hung.
    """
    pool = BlockingPool(max_threads=1, idle_seconds=0)  # a thread ends as soon as it finds no work
    release = threading.Event()
    first = pool.submit(lambda: (release.wait(30), threading.current_thread())[1])
    second = pool.submit(threading.current_thread)  # queued: the only thread is busy
    release.set()
    worker, same = await asyncio.gather(first, second)
    assert worker is same
    await asyncio.to_thread(worker.join, 30)  # waits on the thread itself, not on a clock
    assert not worker.is_alive() and pool.threads == 0
    assert await asyncio.wait_for(pool.submit(lambda: "ran"), 30) == "ran"  # a new thread takes it

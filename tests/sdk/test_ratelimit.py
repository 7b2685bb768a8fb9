"""The client-side buckets, driven by a fake clock."""

from __future__ import annotations

import asyncio
import re

import pytest
from aioresponses import aioresponses

from tests.conftest import BASE, FakeTime
from tests.sdk.samples import RECORDING, RID, USER
from voiceapi_async import RateLimit, RateLimiter, RateLimitError, RateLimits, User, VoiceClient
from voiceapi_async._ratelimit import InFlightSlots


def _limiter(fake_time: FakeTime, fast: tuple[int, int] = (10, 10), slow: tuple[int, int] = (2, 10)) -> RateLimiter:
    limits = RateLimits(
        fast=RateLimit(times=fast[0], seconds=fast[1]), slow=RateLimit(times=slow[0], seconds=slow[1]), headroom=0
    )
    return RateLimiter(limits, clock=fake_time.clock, sleep=fake_time.sleep)


async def test_times_requests_per_window_then_wait_for_the_window(fake_time: FakeTime) -> None:
    limiter = _limiter(fake_time)
    start = fake_time.now
    for _ in range(10):
        await limiter.acquire("fast")
    assert fake_time.now == start  # the whole allowance passes at once
    for _ in range(5):
        await limiter.acquire("fast")
    assert fake_time.now == pytest.approx(start + 10.0)  # the 11th waits for the window to slide
    assert limiter.throttled == 1


async def test_buckets_are_independent(fake_time: FakeTime) -> None:
    limiter = _limiter(fake_time)
    await limiter.acquire("slow")
    await limiter.acquire("slow")
    start = fake_time.now
    await limiter.acquire("fast")
    assert fake_time.now == start
    await limiter.acquire("slow")
    assert fake_time.now == pytest.approx(start + 10.0)  # 2 per 10 s


async def test_never_more_than_the_limit_in_any_window(fake_time: FakeTime) -> None:
    limiter = _limiter(fake_time, fast=(10, 10))
    times = []
    for _ in range(100):
        await limiter.acquire("fast")
        times.append(fake_time.now)
    for i, t in enumerate(times):
        in_window = [u for u in times[i:] if u < t + 10 - 1e-9]
        assert len(in_window) <= 10
    assert times[-1] - times[0] >= 90  # and the rate is not wasted: 100 sends in 9 windows


async def test_concurrent_tasks_share_one_bucket_in_fifo_order() -> None:
    fake = FakeTime()
    limiter = RateLimiter(
        RateLimits(fast=RateLimit(times=2, seconds=2), slow=None, headroom=0), clock=fake.clock, sleep=fake.sleep
    )
    order: list[int] = []

    async def worker(i: int) -> None:
        await limiter.acquire("fast")
        order.append(i)

    start = fake.now
    await asyncio.gather(*(worker(i) for i in range(6)))
    assert order == list(range(6))
    assert fake.now == pytest.approx(start + 4.0)  # 2 at once, 2 after 2 s, 2 after 4 s


async def test_a_429_pauses_the_whole_bucket(fake_time: FakeTime) -> None:
    limiter = _limiter(fake_time)
    await limiter.acquire("fast")
    await limiter.penalize("fast", 30)
    start = fake_time.now
    await limiter.acquire("fast")
    assert fake_time.now == pytest.approx(start + 30)
    start = fake_time.now
    await limiter.acquire("slow")  # the other bucket is not paused
    assert fake_time.now == start


async def test_headroom_stretches_the_window(fake_time: FakeTime) -> None:
    limits = RateLimits(fast=RateLimit(times=100, seconds=100), slow=None, headroom=0.1)
    limiter = RateLimiter(limits, clock=fake_time.clock, sleep=fake_time.sleep)
    start = fake_time.now
    for _ in range(101):
        await limiter.acquire("fast")
    assert fake_time.now == pytest.approx(start + 110)


async def test_disabled_limits_never_wait(fake_time: FakeTime) -> None:
    limiter = RateLimiter(RateLimits.disabled(), clock=fake_time.clock, sleep=fake_time.sleep)
    for _ in range(10_000):
        await limiter.acquire("slow")
    assert fake_time.sleeps == []


def test_limits_from_the_account() -> None:
    import msgspec

    user = msgspec.convert(USER, User)
    limits = RateLimits.from_user(user)
    assert limits.fast == RateLimit(times=500, seconds=300)
    assert limits.slow == RateLimit(times=100, seconds=300)
    bare = RateLimits.from_user(User(id="u", email="e"))
    assert bare.fast == RateLimit(times=500, seconds=300)


async def test_client_throttles_and_adopts_account_limits(mocked: aioresponses, fake_time: FakeTime) -> None:
    account = {
        **USER,
        "data": {"rate_limits": {"fast": {"times": 2, "seconds": 10}, "slow": {"times": 1, "seconds": 10}}},
    }
    mocked.post(f"{BASE}/api/auth", payload=account)
    mocked.get(re.compile(re.escape(f"{BASE}/api/recordings/{RID}")), payload=RECORDING, repeat=True)
    client = VoiceClient(api_key="k" * 16, base_url=BASE, _clock=fake_time.clock, _sleep=fake_time.sleep)
    async with client:
        limits = await client.adopt_account_rate_limits()
        assert limits.fast == RateLimit(times=2, seconds=10)
        start = fake_time.now
        for _ in range(4):
            await client.recordings.get(RID)
        # 2 per (10 s + 2 % headroom): the 3rd and 4th wait one window
        assert fake_time.now - start == pytest.approx(10.2)


async def test_a_429_pauses_the_clients_bucket_for_every_task(mocked: aioresponses, fake_time: FakeTime) -> None:
    url = re.compile(re.escape(f"{BASE}/api/recordings/{RID}"))
    mocked.get(url, status=429, headers={"Retry-After": "20"}, payload={"detail": "Rate limit exceeded"})
    mocked.get(url, payload=RECORDING, repeat=True)
    client = VoiceClient(api_key="k" * 16, base_url=BASE, max_retries=0, _clock=fake_time.clock, _sleep=fake_time.sleep)
    async with client:
        with pytest.raises(RateLimitError):
            await client.recordings.get(RID)
        start = fake_time.now
        await client.recordings.get(RID)  # a later call, from any task, waits out the pause
        assert fake_time.now == pytest.approx(start + 20)


# -- the in-flight slots ----------------------------------------------------------------


async def test_in_flight_slots_are_handed_to_waiters_in_order_never_to_a_newcomer() -> None:
    slots = InFlightSlots(2)
    assert slots.try_acquire() and slots.try_acquire()
    assert not slots.try_acquire() and slots.locked()
    order: list[int] = []

    async def wait(i: int) -> None:
        await slots.acquire()
        order.append(i)

    waiters = [asyncio.ensure_future(wait(i)) for i in range(3)]
    await asyncio.sleep(0)
    slots.release()
    assert not slots.try_acquire()  # the freed slot is the first waiter's, not a newcomer's
    await asyncio.sleep(0)
    assert order == [0]
    slots.release()
    slots.release()
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2] and slots.free == 0
    for _ in range(2):
        slots.release()
    assert slots.free == 2 and not slots.locked()


async def test_a_cancelled_slot_wait_leaves_no_trace_and_passes_on_a_slot_handed_to_it() -> None:
    slots = InFlightSlots(1)
    assert slots.try_acquire()
    cancelled = asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    slots.release()
    assert slots.free == 1 and slots.try_acquire()  # the cancelled waiter does not block the slot

    first, second = asyncio.ensure_future(slots.acquire()), asyncio.ensure_future(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to ``first`` ...
    first.cancel()  # ... which is cancelled before it resumes: ``second`` gets the slot
    with pytest.raises(asyncio.CancelledError):
        await first
    await asyncio.wait_for(second, 1)
    assert slots.free == 0
    slots.release()
    assert slots.free == 1

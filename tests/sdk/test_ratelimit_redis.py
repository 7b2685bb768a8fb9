"""The shared rate limiter on a real Redis (a throwaway server the session starts).

Semantics are driven by a fake clock passed to the store (the Redis script takes
``now``); the multi-process test uses the real clock and asserts counts only.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aioresponses import aioresponses

from tests.conftest import API_KEY, BASE, FakeTime
from tests.sdk.samples import RECORDING, RID, UID, USER
from tests.servers import redis_server
from voiceapi_async import (
    InvalidRequestError,
    RateLimit,
    RateLimiter,
    RateLimitError,
    RateLimits,
    RateLimitStoreError,
    VoiceClient,
)


def _limits(fast: tuple[int, int] = (10, 10), slow: tuple[int, int] = (2, 10), headroom: float = 0.0) -> RateLimits:
    return RateLimits(
        fast=RateLimit(times=fast[0], seconds=fast[1]),
        slow=RateLimit(times=slow[0], seconds=slow[1]),
        headroom=headroom,
    )


@pytest.fixture
def account() -> str:
    """A fresh account name per test: tests share one Redis and must not share buckets."""
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
async def shared(redis_url: str, account: str, fake_time: FakeTime) -> AsyncIterator[list[RateLimiter]]:
    """Two limiters (two "processes") sharing the store and one fake clock."""
    limiters = [
        RateLimiter(_limits(), clock=fake_time.clock, sleep=fake_time.sleep, store=redis_url, account=account)
        for _ in range(2)
    ]
    yield limiters
    for limiter in limiters:
        await limiter.aclose()


async def test_processes_sharing_the_store_share_one_budget(shared: list[RateLimiter], fake_time: FakeTime) -> None:
    a, b = shared
    assert a.shared and b.shared
    start = fake_time.now
    for i in range(10):
        await (a if i % 2 else b).acquire("fast")
    assert fake_time.now == start  # 10 per 10 s: the whole allowance at once, whoever sends
    await a.acquire("fast")
    assert fake_time.now == pytest.approx(start + 10.0)  # the 11th waits for the window, though a sent only 5
    assert a.throttled == 1 and b.throttled == 0


async def test_the_shared_rule_is_the_in_process_rule(redis_url: str, account: str) -> None:
    """The same acquisitions wait exactly as long with the store as without (headroom included)."""
    waits: dict[str, list[float]] = {}
    throttled: dict[str, int] = {}
    for name, store in (("local", None), ("redis", redis_url)):
        fake = FakeTime()
        limiter = RateLimiter(
            _limits(fast=(7, 10), slow=(3, 5), headroom=0.02),
            clock=fake.clock,
            sleep=fake.sleep,
            store=store,
            account=account,
        )
        for i in range(40):
            if i == 17:
                await limiter.penalize("fast", 12.5)
            await limiter.acquire("slow" if i % 3 == 0 else "fast")
            if i % 5 == 0:
                await fake.sleep(1.25)  # idle time lets the windows slide
        waits[name] = fake.sleeps
        throttled[name] = limiter.throttled
        await limiter.aclose()
    assert waits["redis"] == pytest.approx(waits["local"], abs=1e-5)
    assert throttled["redis"] == throttled["local"] >= 5  # the sequence really was throttled


async def test_a_429_pauses_every_process(shared: list[RateLimiter], fake_time: FakeTime) -> None:
    a, b = shared
    await a.penalize("fast", 30)
    start = fake_time.now
    await b.acquire("fast")
    assert fake_time.now == pytest.approx(start + 30)
    start = fake_time.now
    await b.acquire("slow")  # the other bucket is not paused
    assert fake_time.now == start


async def test_accounts_do_not_share_and_keys_never_reach_redis(redis_url: str, fake_time: FakeTime) -> None:
    import redis.asyncio as aioredis

    clients = [
        VoiceClient(
            api_key=key,
            base_url=BASE,
            rate_limits=_limits(fast=(1, 10)),
            rate_limit_store=redis_url,
            _clock=fake_time.clock,
            _sleep=fake_time.sleep,
        )
        for key in (API_KEY, API_KEY + "-other-account")
    ]
    try:
        start = fake_time.now
        for c in clients:
            await c.rate_limiter.acquire("fast")
        assert fake_time.now == start  # one each: two accounts, two budgets
        await clients[0].rate_limiter.acquire("fast")
        assert fake_time.now == pytest.approx(start + 10)
    finally:
        for c in clients:
            await c.close()
    store = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        keys = [k async for k in store.scan_iter("voiceapi:*")]
        values = [await store.lrange(k, 0, -1) for k in keys if k.endswith(":log")]
    finally:
        await store.aclose()
    account = clients[0].rate_limiter.account
    assert account.startswith("key-") and any(account in k for k in keys)
    assert not any(API_KEY in k or "SECRET" in k for k in keys)
    assert not any("SECRET" in v for vs in values for v in vs)


async def test_a_tenant_view_has_its_own_buckets_in_the_store(redis_url: str, fake_time: FakeTime) -> None:
    fresh = uuid.uuid4().hex  # accounts no other test's buckets use
    client = VoiceClient(
        api_key=f"{API_KEY}-{fresh}",
        base_url=BASE,
        rate_limits=_limits(fast=(1, 10)),
        rate_limit_store=redis_url,
        _clock=fake_time.clock,
        _sleep=fake_time.sleep,
    )
    async with client:
        tenant = client.with_options(api_key=f"{API_KEY}-tenant-{fresh}")
        assert tenant.rate_limiter.shared and tenant.rate_limiter.account != client.rate_limiter.account
        start = fake_time.now
        await client.rate_limiter.acquire("fast")
        await tenant.rate_limiter.acquire("fast")
        assert fake_time.now == start  # one each: two accounts, two budgets in the store
        await tenant.rate_limiter.acquire("fast")
        assert fake_time.now == pytest.approx(start + 10)
        await tenant.rate_limiter.aclose()  # a tenant's limiter leaves the shared connection open
        await client.rate_limiter.acquire("fast")
        assert fake_time.now == pytest.approx(start + 10)


async def test_adopting_the_account_names_the_buckets_after_its_id(
    mocked: aioresponses, redis_url: str, fake_time: FakeTime
) -> None:
    mocked.post(f"{BASE}/api/auth", payload=USER)
    client = VoiceClient(
        api_key=API_KEY, base_url=BASE, rate_limit_store=redis_url, _clock=fake_time.clock, _sleep=fake_time.sleep
    )
    async with client:
        assert client.rate_limiter.account.startswith("key-")
        await client.adopt_account_rate_limits()
        assert client.rate_limiter.account == f"user-{UID}"


async def test_the_client_reads_the_store_from_the_environment(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    monkeypatch.setenv("VOICEAPI_RATE_LIMIT_URL", redis_url)
    async with VoiceClient(api_key=API_KEY, base_url=BASE) as client:
        assert client.rate_limiter.shared
    async with VoiceClient(api_key=API_KEY, base_url=BASE, rate_limit_store="") as client:
        assert not client.rate_limiter.shared  # an explicit "" keeps the in-process buckets
    monkeypatch.delenv("VOICEAPI_RATE_LIMIT_URL")
    async with VoiceClient(api_key=API_KEY, base_url=BASE) as client:
        assert not client.rate_limiter.shared  # the default


def test_a_bad_store_url_is_refused_before_any_request() -> None:
    with pytest.raises(InvalidRequestError, match=r"redis://host:6379/0") as info:
        VoiceClient(api_key=API_KEY, base_url=BASE, rate_limit_store="http://user:hunter2@cache:6379")
    assert "hunter2" not in str(info.value)


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)  # as if the package were not installed
    with pytest.raises(InvalidRequestError, match=r"pip install 'voiceapi-async\[redis\]'"):
        VoiceClient(api_key=API_KEY, base_url=BASE, rate_limit_store="redis://127.0.0.1:1/0")


def test_the_core_does_not_import_the_stores_drivers() -> None:
    code = "import sys, voiceapi_async, voiceapi_async.jobs, voiceapi_async._cli; print('redis' in sys.modules, 'asyncpg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False False"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the socket is: nothing listens there


async def test_an_unreachable_store_raises_a_typed_error_and_sends_nothing(
    mocked: aioresponses, closed_port: int, fake_time: FakeTime
) -> None:
    mocked.get(re.compile(".*"), payload=RECORDING, repeat=True)
    url = f"redis://:hunter2@127.0.0.1:{closed_port}/0"
    client = VoiceClient(api_key=API_KEY, base_url=BASE, rate_limit_store=url, _sleep=fake_time.sleep)
    async with client:
        with pytest.raises(RateLimitStoreError) as info:
            await client.recordings.get(RID)
    assert not mocked.requests  # nothing was sent blind
    assert info.value.request_sent is False
    assert f"127.0.0.1:{closed_port}" in str(info.value) and "was not sent" in str(info.value)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)
    assert "hunter2" not in info.value.store


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung store)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield int(server.getsockname()[1])
    server.close()


async def test_a_store_that_does_not_answer_is_bounded_by_the_timeout(mocked: aioresponses, silent_server: int) -> None:
    mocked.get(re.compile(".*"), payload=RECORDING, repeat=True)
    client = VoiceClient(
        api_key=API_KEY,
        base_url=BASE,
        rate_limit_store=f"redis://127.0.0.1:{silent_server}/0",
        rate_limit_store_timeout=0.2,
    )
    async with client:
        with pytest.raises(RateLimitStoreError, match="did not answer within 0.2 s"):
            await asyncio.wait_for(client.recordings.get(RID), 30)  # the outer bound only guards the suite
    assert not mocked.requests


async def test_a_store_dying_mid_run_stops_requests_with_the_typed_error(
    mocked: aioresponses, fake_time: FakeTime
) -> None:
    url_re = re.compile(re.escape(f"{BASE}/api/recordings/{RID}"))
    mocked.get(url_re, payload=RECORDING, repeat=True)
    with redis_server() as server:
        client = VoiceClient(api_key=API_KEY, base_url=BASE, rate_limit_store=server.url, rate_limit_store_timeout=1.0)
        async with client:
            await client.recordings.get(RID)
            server.stop()
            with pytest.raises(RateLimitStoreError, match="failed"):
                await client.recordings.get(RID)
    assert len(next(iter(mocked.requests.values()))) == 1  # only the request made while the store was up


async def test_a_429_on_one_client_pauses_another_sharing_the_store(
    mocked: aioresponses, redis_url: str, fake_time: FakeTime
) -> None:
    url = re.compile(re.escape(f"{BASE}/api/recordings/{RID}"))
    mocked.get(url, status=429, headers={"Retry-After": "20"}, payload={"detail": "Rate limit exceeded"})
    mocked.get(url, payload=RECORDING, repeat=True)
    key = f"{API_KEY}-{uuid.uuid4().hex}"
    clients = [
        VoiceClient(
            api_key=key,
            base_url=BASE,
            max_retries=0,
            rate_limit_store=redis_url,
            _clock=fake_time.clock,
            _sleep=fake_time.sleep,
        )
        for _ in range(2)
    ]
    try:
        with pytest.raises(RateLimitError):
            await clients[0].recordings.get(RID)
        start = fake_time.now
        await clients[1].recordings.get(RID)
        assert fake_time.now == pytest.approx(start + 20)  # the other "process" waited out the 429
    finally:
        for c in clients:
            await c.close()


_WORKER = """
import asyncio, json, sys
from voiceapi_async import RateLimit, RateLimiter, RateLimits

async def main(url, account, n):
    waits = []

    async def record(seconds):  # count, do not wait: the test asserts counts, not times
        waits.append(seconds)

    limits = RateLimits(fast=None, slow=RateLimit(times=10, seconds=1000), headroom=0)
    limiter = RateLimiter(limits, sleep=record, store=url, account=account)
    sys.stdin.readline()  # start together
    for _ in range(n):
        await limiter.acquire("slow")
    await limiter.aclose()
    print(json.dumps({"throttled": limiter.throttled, "calls": n}))

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def test_three_processes_share_one_window(redis_url: str, account: str) -> None:
    """30 acquisitions from 3 processes against 10 per window: exactly 10 go at once, 20 wait."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, redis_url, account, "10"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outs = [p.communicate("go\n", timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    results = [json.loads(o) for o in outs]
    assert sum(r["calls"] for r in results) == 30
    assert sum(r["calls"] - r["throttled"] for r in results) == 10  # one window's worth across all three
    assert sum(r["throttled"] for r in results) == 20

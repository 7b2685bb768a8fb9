"""The throwaway Redis and PostgreSQL of ``benchmarks/_servers.py``, for tests: skip without them, fail in CI.

A developer's machine may lack a server; then its tests skip with the reason.  With
``CI`` set they fail instead: CI must run them (``.ci/run`` installs what is missing).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest

from benchmarks import _servers
from benchmarks._servers import PostgresServer, RedisServer

__all__ = ["PostgresServer", "RedisServer", "missing", "postgres_server", "redis_server"]


def missing(what: str, how: str) -> None:
    """Skip (a developer's machine) or fail (CI) a test whose server is not installed."""
    message = f"{what} is not available ({how})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the tests that need it", pytrace=False)
    pytest.skip(message)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A throwaway ``redis-server`` on a free port, no persistence; skip/fail without one."""
    if _servers.redis_binary() is None:
        missing("redis-server", "apt-get install -y redis-server")
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        missing("the redis package", "pip install -e '.[test]'")
    with _servers.redis_server() as server:
        yield server


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL cluster on a free port (run as the ``postgres`` user when root); skip/fail without one."""
    if _servers.postgres_bindir() is None:
        missing("PostgreSQL (initdb, pg_ctl)", "apt-get install -y postgresql")
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        missing("the asyncpg package", "pip install -e '.[test]'")
    with _servers.postgres_server() as server:
        yield server

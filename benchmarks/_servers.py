"""Throwaway servers on free loopback ports: Redis (and PostgreSQL) for the shared stores.

Used by B7 and by the test suite (``tests/servers.py`` adds skip-or-fail when a server
is not installed).  Nothing persists: each lives in a temporary directory and is killed
at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from ._common import free_port, wait_for_port


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Kill the server (a test's "Redis died")."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def redis_binary() -> str | None:
    return shutil.which("redis-server")


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """``redis-server --port <free> --save '' --appendonly no`` until the block ends."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install -y redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="voiceapi-redis-") as tmp:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = RedisServer(port, proc)
        try:
            wait_for_port(port, process=proc)
            yield server
        finally:
            server.stop()

"""Throwaway servers on free loopback ports: Redis and PostgreSQL, for the shared stores.

Used by B7 and by the test suite (``tests/servers.py`` adds skip-or-fail when a server
is not installed).  Nothing persists: each lives in a temporary directory and is killed
at the end.
"""

from __future__ import annotations

import contextlib
import glob
import os
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


@dataclass
class PostgresServer:
    port: int
    data_dir: str
    bindir: str

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        _as_postgres([f"{self.bindir}/pg_ctl", "-D", self.data_dir, "-m", "immediate", "-w", "stop"], check=False)


def postgres_bindir() -> str | None:
    """The directory of ``initdb`` and ``pg_ctl``, if PostgreSQL is installed.

    ``pg_config --bindir`` first; else Debian's layout (``/usr/lib/postgresql/<version>/bin``), newest first.
    """
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        try:
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            found = ""
        if os.path.exists(os.path.join(found.strip(), "initdb")):
            return found.strip()
    debian = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return os.path.dirname(debian[-1]) if debian else None


def _as_postgres(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """PostgreSQL refuses to run as root: run as the ``postgres`` system user then."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=check, timeout=120)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway cluster (``initdb`` + ``pg_ctl``) in a temporary directory on a free port, trust auth, no fsync."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (pg_config --bindir names no initdb)")
    tmp = tempfile.mkdtemp(prefix="voiceapi-pg-")
    try:
        os.chmod(tmp, 0o755)  # the postgres user must reach the data directory below (mkdtemp makes 0700)
        data = os.path.join(tmp, "data")
        os.mkdir(data, 0o700)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
            shutil.chown(tmp, "postgres", "postgres")
        _as_postgres([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"])
        port = free_port()
        options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _as_postgres([f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(tmp, "log"), "-w", "start"])
        server = PostgresServer(port, data, bindir)
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

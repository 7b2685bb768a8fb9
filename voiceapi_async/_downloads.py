"""Streamed downloads written to a temporary file and renamed into place.

A crash mid-download leaves only a ``.part`` file, never a truncated file under the
final name that looks finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import aiohttp

__all__ = ["DownloadedFile", "safe_filename", "write_stream"]

CHUNK_SIZE = 256 * 1024
_partials = itertools.count()
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


@dataclass(frozen=True)
class DownloadedFile:
    path: Path
    size: int
    content_type: str | None


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name from a server (``Content-Disposition``) that cannot escape its folder."""
    if not name:
        return fallback
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name or set(name) <= {"."}:
        return fallback
    return name[:200]


def server_filename(response: aiohttp.ClientResponse, fallback: str) -> str:
    disposition = response.content_disposition
    return safe_filename(disposition.filename if disposition else None, fallback)


async def iter_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async for chunk in response.content.iter_chunked(CHUNK_SIZE):
        yield chunk


def _partial_of(destination: Path) -> Path:
    """A temporary name next to ``destination``: ``.<name>.<pid><n>.part`` (unique, no random bytes needed)."""
    return destination.with_name(f".{destination.name}.{os.getpid():x}{next(_partials):x}.part")


def _resolve(destination: Path, name_in_dir: str | None) -> Path:
    return destination / name_in_dir if name_in_dir is not None and destination.is_dir() else destination


def _open_partial(destination: Path, name_in_dir: str | None) -> tuple[Path, Path, BinaryIO]:
    target = _resolve(destination, name_in_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial_of(target)
    return target, partial, open(partial, "wb")


def _finish(f: BinaryIO, chunks: list[bytes], partial: Path, target: Path) -> None:
    """Write what is left, make it durable and rename it into place: one thread hop."""
    with f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, target)


def _write_whole(destination: Path, name_in_dir: str | None, chunks: list[bytes]) -> Path:
    target, partial, f = _open_partial(destination, name_in_dir)
    try:
        _finish(f, chunks, partial, target)
    except BaseException:
        _discard(f, partial)
        raise
    return target


def _write_chunks(f: BinaryIO, chunks: list[bytes]) -> None:
    for chunk in chunks:
        f.write(chunk)


def _discard(f: BinaryIO, partial: Path) -> None:
    with contextlib.suppress(OSError):
        f.close()
    with contextlib.suppress(OSError):
        os.unlink(partial)


async def write_stream(
    response: aiohttp.ClientResponse, destination: Path, *, name_in_dir: str | None = None
) -> DownloadedFile:
    """Stream ``response`` into ``destination`` atomically (temporary file, fsync, then rename).

    With ``name_in_dir``, a ``destination`` that is a directory gets the file under that
    name.  A body that fits in ``CHUNK_SIZE`` is written, fsynced and renamed in one hop
    to a worker thread; a larger one is written a chunk per hop and finished (fsync,
    rename) in one more.  The event loop never waits on the disk.
    """
    loop = asyncio.get_running_loop()
    expected = response.content_length
    buffered: list[bytes] = []
    size = 0
    chunks = iter_chunks(response)
    async for chunk in chunks:
        buffered.append(chunk)
        size += len(chunk)
        if size >= CHUNK_SIZE:
            break
    else:  # all of it is here: one hop
        _check_size(size, expected)
        target = await loop.run_in_executor(None, _write_whole, destination, name_in_dir, buffered)
        return DownloadedFile(target, size, response.content_type)
    target, partial, f = await loop.run_in_executor(None, _open_partial, destination, name_in_dir)
    try:
        async for chunk in chunks:
            buffered.append(chunk)
            size += len(chunk)
            if len(buffered) >= 4:
                await loop.run_in_executor(None, _write_chunks, f, buffered)
                buffered = []
        _check_size(size, expected)
        await loop.run_in_executor(None, _finish, f, buffered, partial, target)
    except BaseException:
        await asyncio.shield(loop.run_in_executor(None, _discard, f, partial))
        raise
    return DownloadedFile(target, size, response.content_type)


def _check_size(size: int, expected: int | None) -> None:
    if expected is not None and size != expected:
        raise aiohttp.ClientPayloadError(f"download truncated: got {size} of {expected} bytes")

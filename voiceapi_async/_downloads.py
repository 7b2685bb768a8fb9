"""Streamed downloads written to a temporary file and renamed into place.

A crash mid-download leaves only a ``.part`` file, never a truncated file under the
final name that looks finished.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiofiles
import aiofiles.os
import aiohttp

__all__ = ["DownloadedFile", "safe_filename", "write_stream"]

CHUNK_SIZE = 256 * 1024
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


async def write_stream(response: aiohttp.ClientResponse, destination: Path) -> DownloadedFile:
    """Stream ``response`` into ``destination`` atomically (temporary file, then rename)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.part")
    size = 0
    try:
        async with aiofiles.open(partial, "wb") as f:
            async for chunk in iter_chunks(response):
                await f.write(chunk)
                size += len(chunk)
            await f.flush()
            os.fsync(f.fileno())
        expected = response.content_length
        if expected is not None and size != expected:
            raise aiohttp.ClientPayloadError(f"download truncated: got {size} of {expected} bytes")
        await aiofiles.os.replace(partial, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            await aiofiles.os.remove(partial)
        raise
    return DownloadedFile(destination, size, response.content_type)

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
from multidict import CIMultiDictProxy

from ._blocking import run_blocking
from ._errors import APIConnectionError, APITimeoutError, InvalidRequestError
from ._transport import TIMEOUT_ERRORS, TRANSPORT_ERRORS

__all__ = ["ByteStream", "DownloadedFile", "safe_filename", "write_stream"]

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


class ByteStream:
    """An open download, valid inside its ``async with`` block (``client.recordings.stream``).

    Leaving the block — normally, by ``break``, an error or cancellation — releases the
    connection and the client's in-flight slot; reading afterwards is an error.

    >>> async with client.recordings.stream(recording) as stream:
    ...     async for chunk in stream.iter_bytes():
    ...         out.write(chunk)
    """

    def __init__(self, response: aiohttp.ClientResponse, method: str, path: str) -> None:
        self._response = response
        self._method = method
        self._path = path
        self._closed = False

    @property
    def status(self) -> int:
        return self._response.status

    @property
    def headers(self) -> CIMultiDictProxy[str]:
        return self._response.headers

    @property
    def content_type(self) -> str:
        return self._response.content_type

    @property
    def content_length(self) -> int | None:
        return self._response.content_length

    def filename(self, fallback: str = "download") -> str:
        """The server's file name (``Content-Disposition``), made safe, or ``fallback``."""
        return server_filename(self._response, fallback)

    @property
    def closed(self) -> bool:
        return self._closed

    async def iter_bytes(self, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The body in chunks of at most ``chunk_size`` bytes; a broken connection raises ``APIConnectionError``."""
        if self._closed:
            raise InvalidRequestError("this stream is closed: read it inside its `async with` block")
        try:
            async for chunk in self._response.content.iter_chunked(chunk_size):
                yield chunk
        except TRANSPORT_ERRORS as exc:
            cls = APITimeoutError if isinstance(exc, TIMEOUT_ERRORS) else APIConnectionError
            raise cls(f"the stream broke off: {type(exc).__name__}", method=self._method, path=self._path) from exc

    async def read(self) -> bytes:
        """The whole body (for small files: it is held in memory)."""
        return b"".join([chunk async for chunk in self.iter_bytes()])

    def close(self) -> None:
        self._closed = True

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ByteStream {self._method} {self._path} status={self.status} {state}>"


def _open_partial(destination: str | os.PathLike[str], name_in_dir: str | None) -> tuple[str, str, BinaryIO]:
    """The final path, its temporary name next to it and that file, opened.

    The temporary name is ``.<name>.<pid><n>.part`` (unique, no random bytes needed).
    The folder is made only when the open finds it missing (once per folder).  Plain
    strings, not ``Path``: this runs for every downloaded file (B6).
    """
    target = os.fspath(destination)
    if name_in_dir is not None and os.path.isdir(target):
        target = os.path.join(target, name_in_dir)
    folder, name = os.path.split(target)
    partial = os.path.join(folder, f".{name}.{os.getpid():x}{next(_partials):x}.part")
    try:
        return target, partial, open(partial, "wb")
    except FileNotFoundError:
        if not folder:
            raise
        os.makedirs(folder, exist_ok=True)
        return target, partial, open(partial, "wb")


def _finish(f: BinaryIO, chunks: list[bytes], partial: str, target: str) -> None:
    """Write what is left, make it durable and rename it into place: one thread hop."""
    with f:
        for chunk in chunks:
            f.write(chunk)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, target)


def _write_whole(destination: str | os.PathLike[str], name_in_dir: str | None, chunks: list[bytes]) -> str:
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


def _discard(f: BinaryIO, partial: str) -> None:
    with contextlib.suppress(OSError):
        f.close()
    with contextlib.suppress(OSError):
        os.unlink(partial)


async def write_stream(
    response: aiohttp.ClientResponse, destination: str | os.PathLike[str], *, name_in_dir: str | None = None
) -> DownloadedFile:
    """Stream ``response`` into ``destination`` atomically (temporary file, fsync, then rename).

    With ``name_in_dir``, a ``destination`` that is a directory gets the file under that
    name.  A body that fits in ``CHUNK_SIZE`` is read at once (when its length is
    announced) and written, fsynced and renamed in one hop to a worker thread; a larger
    one is written a chunk per hop and finished (fsync, rename) in one more: memory stays
    bounded by a few chunks.  The event loop never waits on the disk.
    """
    expected = response.content_length
    if expected is not None and expected <= CHUNK_SIZE:
        body = await response.read()
        _check_size(len(body), expected)
        target = await run_blocking(_write_whole, destination, name_in_dir, [body])
        return DownloadedFile(_as_path(target, destination), len(body), response.content_type)
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
        target = await run_blocking(_write_whole, destination, name_in_dir, buffered)
        return DownloadedFile(_as_path(target, destination), size, response.content_type)
    target, partial, f = await run_blocking(_open_partial, destination, name_in_dir)
    try:
        async for chunk in chunks:
            buffered.append(chunk)
            size += len(chunk)
            if len(buffered) >= 4:
                await run_blocking(_write_chunks, f, buffered)
                buffered = []
        _check_size(size, expected)
        await run_blocking(_finish, f, buffered, partial, target)
    except BaseException:
        await asyncio.shield(run_blocking(_discard, f, partial))
        raise
    return DownloadedFile(_as_path(target, destination), size, response.content_type)


def _as_path(target: str, destination: str | os.PathLike[str]) -> Path:
    """``target`` as a ``Path``: the caller's own when the file went where it said."""
    return destination if isinstance(destination, Path) and os.fspath(destination) == target else Path(target)


def _check_size(size: int, expected: int | None) -> None:
    if expected is not None and size != expected:
        raise aiohttp.ClientPayloadError(f"download truncated: got {size} of {expected} bytes")

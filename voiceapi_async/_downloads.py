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

__all__ = ["ByteStream", "DownloadFolders", "DownloadedFile", "safe_filename", "write_stream"]

CHUNK_SIZE = 256 * 1024
#: How many folders a client remembers having made or checked for downloads (then the oldest is forgotten).
KNOWN_FOLDERS = 1024
_partials = itertools.count()
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
_SEPARATORS = tuple(sep for sep in (os.sep, os.altsep, "/") if sep)


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


def _make_folder(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)


def _under_a_file(folder: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"cannot download into {folder!r}: it, or a folder above it, is a file; "
        "pass a directory or a file path whose folders are directories"
    )


class DownloadFolders:
    """The folders a client made or checked for its downloads: each is checked once, not per download.

    The check (make the folder, or refuse a destination under a file before any request)
    is a thread hop, and hops are what a download's CPU goes to (benchmark B6: a folder
    of thousands of outputs).  A folder removed since it was checked is made again by
    the write itself (``_create_partial``); one replaced by a file fails the write, which
    forgets it, so the next download is refused before its request again.  A relative
    folder is remembered by its name, as given.
    """

    def __init__(self, limit: int = KNOWN_FOLDERS) -> None:
        self._known: dict[str, None] = {}  # insertion-ordered: the oldest is forgotten first
        self._limit = limit

    async def check(self, destination: str | os.PathLike[str]) -> str:
        """The folder ``destination`` is written into, made if missing; ``InvalidRequestError`` if under a file.

        ``destination`` ending with a path separator is that folder itself.
        """
        path = os.fspath(destination)
        folder = path if path.endswith(_SEPARATORS) else os.path.dirname(path) or os.curdir
        if folder in self._known:
            return folder
        try:
            await run_blocking(_make_folder, folder)
        except (FileExistsError, NotADirectoryError):
            raise _under_a_file(folder) from None
        if len(self._known) >= self._limit:
            del self._known[next(iter(self._known))]
        self._known[folder] = None
        return folder

    def refused(self, folder: str) -> InvalidRequestError:
        """The error for a write that found ``folder`` (checked before) under a file now; it is forgotten."""
        self._known.pop(folder, None)
        return _under_a_file(folder)

    def __contains__(self, folder: object) -> bool:
        return folder in self._known

    def __len__(self) -> int:
        return len(self._known)


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


#: Flags for a new temporary file, as ``open(name, "wb")`` (binary on Windows too).
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_pid = os.getpid()


def _after_fork() -> None:  # a child's temporary names carry its own pid
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def _target(destination: str | os.PathLike[str], name_in_dir: str | None, *, look: bool = True) -> str:
    """Where the file goes: into ``destination`` under ``name_in_dir`` if it names a directory.

    It does when it ends with a path separator, or (``look``: a ``stat``) exists as one.
    """
    target = os.fspath(destination)
    if name_in_dir is not None and (target.endswith(_SEPARATORS) or (look and os.path.isdir(target))):
        target = os.path.join(target, name_in_dir)
    return target


def _create_partial(target: str) -> tuple[str, int]:
    """The temporary file next to ``target``, created: its name and descriptor.

    The temporary name is ``.<name>.<pid><n>.part`` (unique, no random bytes needed).
    The folder is made only when the open finds it missing (a folder removed since the
    client checked it).  Plain strings and ``os`` calls, not ``Path`` and ``open()``:
    this runs for every downloaded file (B6), and each system call in a worker thread
    lets the event loop's thread take the GIL (``open()`` makes three more than needed).
    """
    folder, name = os.path.split(target)
    partial = os.path.join(folder, f".{name}.{_pid:x}{next(_partials):x}.part")
    try:
        return partial, os.open(partial, _CREATE_FLAGS, 0o666)
    except FileNotFoundError:
        if not folder:
            raise
        os.makedirs(folder, exist_ok=True)
        return partial, os.open(partial, _CREATE_FLAGS, 0o666)


def _write_at(target: str, data: bytes) -> None:
    """``data`` written to a temporary file, made durable and renamed to ``target``."""
    partial, fd = _create_partial(target)
    try:
        try:
            view = memoryview(data)
            while view:  # one write, unless the disk takes less
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _write_whole(destination: str | os.PathLike[str], name_in_dir: str | None, chunks: list[bytes]) -> str:
    """A whole (small) body written, made durable and renamed into place: one thread hop, five system calls.

    Whether ``destination`` is an existing directory is asked only when writing to it
    as a file fails (renaming a file onto a directory does): a ``stat`` per file saved.
    """
    data = b"".join(chunks)
    target = _target(destination, name_in_dir, look=False)
    try:
        _write_at(target, data)
    except OSError:
        if name_in_dir is None or target != os.fspath(destination) or not os.path.isdir(target):
            raise
        target = os.path.join(target, name_in_dir)
        _write_at(target, data)
    return target


def _open_file(destination: str | os.PathLike[str], name_in_dir: str | None) -> tuple[str, str, BinaryIO]:
    """The target and its temporary file, open as a file object, for a large body written over several hops.

    A file object, not a descriptor, between hops: closing it waits for a write still
    running in another thread (a cancelled download), where a closed descriptor's
    number could meanwhile be reused by another file.
    """
    target = _target(destination, name_in_dir)
    partial, fd = _create_partial(target)
    try:
        return target, partial, open(fd, "wb")
    except BaseException:
        _discard(fd, partial)
        raise


def _write_chunks(f: BinaryIO, chunks: list[bytes]) -> None:
    for chunk in chunks:
        f.write(chunk)


def _finish(f: BinaryIO, chunks: list[bytes], partial: str, target: str) -> None:
    """Write what is left, make it durable and rename it into place: one thread hop."""
    with f:
        _write_chunks(f, chunks)
        f.flush()
        os.fsync(f.fileno())
    os.replace(partial, target)


def _discard(f: BinaryIO | int, partial: str) -> None:
    with contextlib.suppress(OSError):
        if isinstance(f, int):
            os.close(f)
        else:
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
    target, partial, f = await run_blocking(_open_file, destination, name_in_dir)
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

"""Streamed multipart uploads: a small file part stays in memory, a larger one goes to disk chunk by chunk.

Most uploads are small: keeping them in memory (``Upload.data``) spares an ``open()`` of a
temporary file, a thread hop to read its header back, and a rename per upload.  A part
that grows past ``IN_MEMORY`` bytes is spilled to a temporary file and streamed from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import secrets
from urllib.parse import unquote

from aiohttp import BodyPartReader, MultipartReader, StreamReader, web

from ._audio import sniff
from ._form import FormPart, form_boundary, parse_form
from ._http import ApiError
from ._store import Store

__all__ = ["Upload", "receive_upload"]

_CHUNK = 1 << 18
_MAX_TEXT_FIELD = 64 << 10
#: File parts up to this size are kept in memory.
IN_MEMORY = 64 << 10


@dataclasses.dataclass
class Upload:
    fields: dict[str, str]
    path: str | None = None
    data: bytes | None = None
    filename: str | None = None
    size: int = 0
    fmt: str | None = None

    @property
    def received(self) -> bool:
        """Whether the file part was sent (in memory or on disk)."""
        return self.data is not None or self.path is not None

    def save(self, path: str) -> None:
        """Put the file at ``path`` (blocking: the temporary file is renamed, or the bytes written)."""
        if self.data is not None:
            write_file(path, self.data)
        elif self.path is not None:
            os.replace(self.path, path)
        self.data = self.path = None

    def discard(self) -> None:
        self.data = None
        if self.path:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None


async def receive_upload(store: Store, request: web.Request, file_field: str = "data") -> Upload:
    """Read every part; the ``file_field`` part is kept in memory if small (else streamed to a temp file) and sniffed.

    A small plain form is read whole and parsed in one pass (``_form``); anything else
    goes through aiohttp's streamed multipart reader.

    Over ``max_upload_size`` (by ``Content-Length`` up front, or counted) answers 413.
    A body that is not multipart yields no fields (the caller's 422 says what is missing).
    """
    limit = store.config.max_upload_size
    if request.content_length is not None and request.content_length > limit + (64 << 10):
        raise ApiError(413, "Request entity too large")
    upload = Upload(fields={})
    length = request.content_length
    boundary = form_boundary(request.headers.get("Content-Type", ""))
    if boundary is not None and length is not None and length <= IN_MEMORY:
        # A small plain form (every upload of a tiny file): read whole and parsed in one pass.
        body = await request.read()
        parts = parse_form(body, boundary)
        if parts is not None:
            _take_parts(parts, upload, file_field, limit)
            return upload
        reader = _reader_of(request, body)
    elif not request.content_type.startswith("multipart/"):
        return upload
    else:
        reader = await request.multipart()
    try:
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.name == file_field:
                await _stream_part(store, part, upload, limit)
            else:
                raw = await part.read(decode=True)
                if len(raw) > _MAX_TEXT_FIELD:
                    raise ApiError(413, "Request entity too large")
                upload.fields[part.name] = raw.decode("utf-8", "replace")
    except BaseException:
        upload.discard()
        raise
    return upload


def _take_parts(parts: list[FormPart], upload: Upload, file_field: str, limit: int) -> None:
    """What the streamed reading below makes of the same parts (the last of a name wins)."""
    for name, filename, content in parts:
        if name is None:
            continue
        if name == file_field:
            if len(content) > limit:
                raise ApiError(413, "Request entity too large")
            upload.filename = _base_name(filename)
            upload.data, upload.size, upload.fmt = content, len(content), sniff(content[:16])
        else:
            if len(content) > _MAX_TEXT_FIELD:
                raise ApiError(413, "Request entity too large")
            upload.fields[name] = content.decode("utf-8", "replace")


def _reader_of(request: web.Request, body: bytes) -> MultipartReader:
    """aiohttp's reader over a body already read (forms ``parse_form`` leaves to it)."""
    stream = StreamReader(request.protocol, max(len(body), 1 << 16), loop=asyncio.get_running_loop())
    stream.feed_data(body)
    stream.feed_eof()
    return MultipartReader(request.headers, stream, max_field_size=request.protocol.max_field_size)


def _base_name(filename: str | None) -> str | None:
    # aiohttp's client percent-encodes multipart file names; browsers send them raw.
    return os.path.basename(unquote(filename or "")) or None


def write_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a uniquely named temporary file, then a rename)."""
    partial = f"{path}.{secrets.token_hex(4)}.part"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)


async def _stream_part(store: Store, part: BodyPartReader, upload: Upload, limit: int) -> None:
    upload.discard()
    upload.filename = _base_name(part.filename)
    chunks: list[bytes] = []
    size = 0
    while size <= IN_MEMORY:
        chunk = await part.read_chunk(_CHUNK)
        if not chunk:
            data = b"".join(chunks)
            upload.data, upload.size, upload.fmt = data, size, sniff(data[:16])
            return
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "Request entity too large")
        chunks.append(chunk)
    upload.path = store.path_for("upload-" + secrets.token_hex(8))
    head = b"".join(chunks)[:16]
    # Plain blocking writes of 256 KiB chunks: they land in the page cache in microseconds,
    # cheaper than a thread hop per chunk.
    with open(upload.path, "wb") as f:  # noqa: ASYNC230
        for chunk in chunks:
            f.write(chunk)
        while True:
            chunk = await part.read_chunk(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise ApiError(413, "Request entity too large")
            if len(head) < 16:
                head += chunk[:16]
            f.write(chunk)
    upload.size = size
    upload.fmt = sniff(head)

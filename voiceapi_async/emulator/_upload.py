"""Streamed multipart uploads: the file part goes to disk chunk by chunk, never whole in memory."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from ._audio import sniff
from ._http import ApiError
from ._store import Store

__all__ = ["Upload", "receive_upload"]

_CHUNK = 1 << 18
_MAX_TEXT_FIELD = 64 << 10


@dataclasses.dataclass
class Upload:
    fields: dict[str, str]
    path: str | None = None
    filename: str | None = None
    size: int = 0
    fmt: str | None = None

    def discard(self) -> None:
        if self.path:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            self.path = None


async def receive_upload(store: Store, request: web.Request, file_field: str = "data") -> Upload:
    """Read every part; the ``file_field`` part is streamed to a temp file and sniffed.

    Over ``max_upload_size`` (by ``Content-Length`` up front, or counted) answers 413.
    A body that is not multipart yields no fields (the caller's 422 says what is missing).
    """
    limit = store.config.max_upload_size
    if request.content_length is not None and request.content_length > limit + (64 << 10):
        raise ApiError(413, "Request entity too large")
    upload = Upload(fields={})
    if not request.content_type.startswith("multipart/"):
        return upload
    try:
        reader = await request.multipart()
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


async def _stream_part(store: Store, part: BodyPartReader, upload: Upload, limit: int) -> None:
    upload.discard()
    # aiohttp's client percent-encodes multipart file names; browsers send them raw.
    upload.filename = os.path.basename(unquote(part.filename or "")) or None
    upload.path = store.path_for("upload-" + secrets.token_hex(8))
    head = b""
    size = 0
    # Plain blocking writes of 256 KiB chunks: they land in the page cache in microseconds,
    # cheaper than a thread hop per chunk.
    with open(upload.path, "wb") as f:  # noqa: ASYNC230
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

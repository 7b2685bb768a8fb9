"""A small ``multipart/form-data`` body parsed in one pass over its bytes.

aiohttp's ``MultipartReader`` parses every part's headers with the stdlib ``email``
package and reads each part through several coroutines: for a 1 KiB upload that was
most of the emulator's cost of the request.  Clients send plain forms (a
``Content-Disposition: form-data; name=...`` and maybe a ``Content-Type`` per part), so
this parses exactly that shape, giving what aiohttp would give, and answers ``None``
for anything else (transfer encodings, nested multiparts, ``filename*``, escapes,
stray bytes), which the caller hands to aiohttp's reader.
"""

from __future__ import annotations

import re
import string

__all__ = ["FormPart", "form_boundary", "parse_form"]

#: (name, filename or ``None``, content) of one part, in the order sent.
FormPart = tuple[str | None, str | None, bytes]

_TOKEN = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)
_BOUNDARY_RE = re.compile(
    r"\s*multipart/form-data\s*;\s*boundary\s*=\s*(?:\"([^\"\\]{1,70})\"|([0-9A-Za-z'()+_,\-./:?]{1,70}))\s*",
    re.IGNORECASE,
)
_KNOWN_HEADERS = frozenset((b"content-disposition", b"content-type"))


def form_boundary(content_type: str) -> bytes | None:
    """The boundary of a plain ``multipart/form-data`` content type, else ``None``."""
    m = _BOUNDARY_RE.fullmatch(content_type)
    if m is None:
        return None
    boundary = m.group(1) or m.group(2)
    if boundary != boundary.strip(' "'):  # aiohttp strips these from a quoted boundary
        return None
    return boundary.encode("utf-8")


def _param(value: str) -> str | None:
    """A parameter value as aiohttp reads it (quoted, without escapes; or a token), else ``None``."""
    value = value.lstrip()
    quoted = value.rstrip()
    if len(quoted) >= 2 and quoted[0] == quoted[-1] == '"':
        inner = quoted[1:-1]
        if "\\" in inner or '"' in inner:
            return None
        return inner.lstrip("/")  # aiohttp drops leading slashes of quoted values
    if value and _TOKEN.issuperset(value):
        return value
    return None


def _disposition(value: str) -> tuple[str | None, str | None] | None:
    """``(name, filename)`` of a ``form-data`` disposition, or ``None`` if it is anything fancier."""
    kind, *items = value.split(";")
    if kind.strip().lower() != "form-data":
        return None
    params: dict[str, str] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        key = key.strip().lower()
        if not eq or key not in ("name", "filename") or key in params:
            return None
        parsed = _param(raw)
        if parsed is None:
            return None
        params[key] = parsed
    return params.get("name"), params.get("filename")


def _part_head(block: bytes) -> tuple[str | None, str | None] | None:
    """``_read_part_head``, remembered: a client sends the same header lines for its text fields every time."""
    try:
        return _HEADS[block]
    except KeyError:
        pass
    found = _read_part_head(block)
    if len(_HEADS) >= _HEADS_KEPT:
        _HEADS.clear()
    _HEADS[block] = found
    return found


_HEADS: dict[bytes, tuple[str | None, str | None] | None] = {}
_HEADS_KEPT = 1024


def _read_part_head(block: bytes) -> tuple[str | None, str | None] | None:
    """``(name, filename)`` from a part's header lines, or ``None`` if they are not the plain kind."""
    seen: set[bytes] = set()
    found: tuple[str | None, str | None] = (None, None)
    for line in block.split(b"\r\n") if block else ():
        raw_name, colon, raw_value = line.partition(b":")
        name = raw_name.lower()
        if not colon or name not in _KNOWN_HEADERS or name in seen:
            return None
        seen.add(name)
        try:
            value = raw_value.decode("utf-8").strip()
        except UnicodeDecodeError:
            return None
        if name == b"content-type":
            if value.lower().startswith("multipart/"):
                return None
        else:
            disposition = _disposition(value)
            if disposition is None:
                return None
            found = disposition
    return found


def parse_form(body: bytes, boundary: bytes) -> list[FormPart] | None:
    """The parts of a whole ``multipart/form-data`` body, or ``None`` if it is not the plain kind."""
    delimiter = b"--" + boundary
    if not body.startswith(delimiter + b"\r\n"):
        return None
    separator = b"\r\n" + delimiter
    parts: list[FormPart] = []
    pos = len(delimiter) + 2
    while True:
        if body.startswith(b"\r\n", pos):  # a part without headers
            head, start = b"", pos + 2
        else:
            end = body.find(b"\r\n\r\n", pos)
            if end < 0:
                return None
            head, start = body[pos:end], end + 4
        names = _part_head(head)
        if names is None:
            return None
        stop = body.find(separator, start)
        if stop < 0:
            return None
        parts.append((names[0], names[1], body[start:stop]))
        after = stop + len(separator)
        tail = body[after : after + 2]
        if tail == b"--":
            return parts
        if tail != b"\r\n":
            return None
        pos = after + 2

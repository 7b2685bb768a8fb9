"""Local checks of what the API documents, so bad input fails before any request."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any, TypeVar

from ._errors import InvalidRequestError

__all__ = [
    "check_enum",
    "check_enums",
    "check_id",
    "check_ids",
    "check_label",
    "check_limit",
    "check_name",
    "check_offset",
    "check_text",
    "sanitize_label",
]

LABEL_MAX = 40
TEXT_MAX = 1000
IDS_MAX = 200
_LABEL_RE = re.compile(r"^[a-zA-Z0-9 -]+$")
_NOT_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9 -]+")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\Z")

E = TypeVar("E", bound=Enum)


def check_label(label: str | None, *, field: str = "label") -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or not label:
        raise InvalidRequestError(f"{field} must be a non-empty string (or None)")
    if len(label) > LABEL_MAX:
        raise InvalidRequestError(f"{field} is {len(label)} characters long; the API allows at most {LABEL_MAX}")
    if not _LABEL_RE.match(label):
        raise InvalidRequestError(
            f"{field} {label!r} may contain only letters, digits, spaces and hyphens; "
            "use voiceapi_async.sanitize_label() to make one"
        )
    return label


def sanitize_label(text: str, *, fallback: str = "recording") -> str:
    """A valid label made from any text (e.g. a file name): invalid characters become spaces."""
    cleaned = " ".join(_NOT_LABEL_CHARS.sub(" ", text).split())
    cleaned = cleaned[:LABEL_MAX].strip()
    return cleaned or fallback


def check_name(name: str, *, field: str) -> str:
    """Names of projects, folders and calibrations: non-empty, at most 40 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequestError(f"{field} must be a non-empty string")
    if len(name) > LABEL_MAX:
        raise InvalidRequestError(f"{field} is {len(name)} characters long; the API allows at most {LABEL_MAX}")
    return name


def check_text(text: str, *, field: str = "text") -> str:
    if not isinstance(text, str) or not text:
        raise InvalidRequestError(f"{field} must be a non-empty string")
    if len(text) > TEXT_MAX:
        raise InvalidRequestError(
            f"{field} is {len(text)} characters long; the API allows at most {TEXT_MAX} "
            "(split it, e.g. at sentence boundaries)"
        )
    return text


def check_limit(limit: int | None, maximum: int, *, field: str = "limit") -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= maximum:
        raise InvalidRequestError(f"{field} must be an integer from 0 to {maximum} for this endpoint, not {limit!r}")
    return limit


def check_offset(offset: int | None) -> int | None:
    if offset is None:
        return None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidRequestError(f"offset must be a non-negative integer, not {offset!r}")
    return offset


def check_id(value: Any, *, field: str) -> str:
    """An id the API takes in a path or body: a UUID string (or an object with ``.id``)."""
    value = getattr(value, "id", value)
    if not isinstance(value, str) or not value:
        raise InvalidRequestError(f"{field} must be an id string, not {type(value).__name__}")
    if _UUID_RE.match(value) is None:
        raise InvalidRequestError(f"{field} {value!r} is not a valid UUID")
    return value


def check_ids(values: Iterable[Any], *, field: str, maximum: int = IDS_MAX) -> list[str]:
    if isinstance(values, str):
        raise InvalidRequestError(f"{field} must be a list of ids, not a single string")
    ids = [check_id(v, field=field) for v in values]
    if len(ids) > maximum:
        raise InvalidRequestError(f"{field} holds {len(ids)} ids; the API takes at most {maximum} per request")
    return ids


def check_enum(value: Any, enum: type[E], *, field: str) -> E | None:
    """A request value must be one the API documents (responses, in contrast, stay open)."""
    if value is None:
        return None
    try:
        member = enum(getattr(value, "value", value))
    except ValueError:
        member = None
    if member is None or not getattr(member, "is_known", True):
        allowed = ", ".join(repr(m.value) for m in enum)
        raise InvalidRequestError(f"{field} must be one of {allowed}, not {value!r}")
    return member


def check_enums(values: Any, enum: type[E], *, field: str) -> list[E] | None:
    if values is None:
        return None
    items: Sequence[Any] = [values] if isinstance(values, (str, Enum)) else list(values)
    return [m for v in items if (m := check_enum(v, enum, field=field)) is not None]

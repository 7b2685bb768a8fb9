"""Error bodies: ``{"detail": "..."}`` or, for 422, ``{"detail": [{loc, msg, type}]}``."""

from __future__ import annotations

from ._base import Model

__all__ = ["ErrorBody", "ValidationErrorItem"]


class ValidationErrorItem(Model):
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(Model):
    detail: str | list[ValidationErrorItem] | None = None

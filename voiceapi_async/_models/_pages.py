"""Paginated list answers: ``{"list": [...], "pagination": {count, limit, offset}}``."""

from __future__ import annotations

from typing import Generic, List, TypeVar

import msgspec

from ._base import Model
from ._library import Calibration, Folder, Project, Recording
from ._voices import Voice

__all__ = [
    "CalibrationPage",
    "FolderPage",
    "Page",
    "Pagination",
    "ProjectPage",
    "RecordingPage",
    "VoicePage",
]

T = TypeVar("T")


class Pagination(Model):
    count: int = 0
    limit: int = 0
    offset: int = 0


class Page(Model, Generic[T]):
    """One page of a list; ``pagination.count`` is the total across all pages."""

    # ``typing.List``: the field named ``list`` shadows the builtin in the class body.
    list: List[T] = msgspec.field(default_factory=lambda: [])
    pagination: Pagination = msgspec.field(default_factory=Pagination)

    @property
    def has_more(self) -> bool:
        p = self.pagination
        return bool(self.list) and p.offset + len(self.list) < p.count


ProjectPage = Page[Project]
FolderPage = Page[Folder]
RecordingPage = Page[Recording]
CalibrationPage = Page[Calibration]
VoicePage = Page[Voice]

"""Projects and folders: where recordings live."""

from __future__ import annotations

import builtins
import os
from typing import Any

from .._downloads import DownloadedFile
from .._errors import InvalidRequestError
from .._models import (
    DeletedId,
    Direction,
    Folder,
    FolderCreate,
    FolderUpdate,
    Project,
    ProjectCreate,
    ProjectRename,
    ProjectSortField,
)
from .._pagination import AsyncPaginator
from .._validation import check_enum, check_id, check_limit, check_name, check_offset
from ._base import Resource

__all__ = ["Folders", "Projects"]

PROJECTS_MAX_LIMIT = 100
FOLDERS_MAX_LIMIT = 200


class Projects(Resource):
    def list(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        sort: ProjectSortField | str | None = None,
        direction: Direction | str | None = None,
        owner: str | None = None,
    ) -> AsyncPaginator[Project]:
        """``GET /api/projects``: await for one page (``limit`` at most 100), ``async for`` for every project."""
        params = {
            "limit": check_limit(limit, PROJECTS_MAX_LIMIT),
            "offset": check_offset(offset),
            "sort": check_enum(sort, ProjectSortField, field="sort"),
            "direction": check_enum(direction, Direction, field="direction"),
            "owner": check_id(owner, field="owner") if owner is not None else None,
        }
        return self._client._paginate("/api/projects", Project, params)

    async def create(self, name: str, *, owner: str | None = None, models: dict[str, Any] | None = None) -> Project:
        """``POST /api/projects``.  ``owner`` defaults to the current user (one ``auth.me()`` call)."""
        check_name(name, field="project name")
        owner_id = check_id(owner, field="owner") if owner is not None else (await self._client.auth.me()).id
        body = ProjectCreate(name=name, owner=owner_id, models=models or {})
        return await self._client._request("POST", "/api/projects", Project, json=body)

    async def update(self, project_id: str, *, name: str) -> Project:
        """``PATCH /api/projects/{id}``: rename a project."""
        check_name(name, field="project name")
        path = f"/api/projects/{check_id(project_id, field='project_id')}"
        return await self._client._request("PATCH", path, Project, json=ProjectRename(name=name))

    async def delete(self, project_id: str) -> DeletedId:
        """``DELETE /api/projects/{id}``."""
        path = f"/api/projects/{check_id(project_id, field='project_id')}"
        return await self._client._request("DELETE", path, DeletedId)

    async def get_by_url(self, project_url: str) -> Project:
        """``GET /api/projects/by-url``: a project by its ``url`` (slug)."""
        if not isinstance(project_url, str) or not project_url:
            raise InvalidRequestError("project_url must be a non-empty string")
        return await self._client._request("GET", "/api/projects/by-url", Project, params={"project_url": project_url})

    async def export(
        self, project_id: str, destination: str | os.PathLike[str], *, starred_only: bool = False
    ) -> DownloadedFile:
        """``GET /api/projects/{id}/export``: stream the zip to ``destination`` (a file or a directory)."""
        path = f"/api/projects/{check_id(project_id, field='project_id')}/export"
        return await self._client._download(
            path, destination, params={"starred_only": starred_only}, bucket="slow", fallback_name="project.zip"
        )


class Folders(Resource):
    def list(
        self,
        project_id: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        direction: Direction | str | None = None,
    ) -> AsyncPaginator[Folder]:
        """``GET /api/folders``: a project's folders; await for one page (``limit`` at most 200) or ``async for``."""
        params = {
            "project_id": check_id(project_id, field="project_id"),
            "limit": check_limit(limit, FOLDERS_MAX_LIMIT),
            "offset": check_offset(offset),
            "direction": check_enum(direction, Direction, field="direction"),
        }
        return self._client._paginate("/api/folders", Folder, params)

    async def create(self, project_id: str, name: str, *, parent_id: str | None = None) -> Folder:
        """``POST /api/folders``."""
        check_name(name, field="folder name")
        body = FolderCreate(
            name=name,
            project_id=check_id(project_id, field="project_id"),
            parent_id=check_id(parent_id, field="parent_id") if parent_id is not None else None,
        )
        return await self._client._request("POST", "/api/folders", Folder, json=body)

    async def get(self, folder_id: str) -> Folder:
        """``GET /api/folders/{id}``."""
        return await self._client._request("GET", f"/api/folders/{check_id(folder_id, field='folder_id')}", Folder)

    async def update(self, folder_id: str, *, name: str) -> Folder:
        """``PATCH /api/folders/{id}``: rename a folder."""
        check_name(name, field="folder name")
        path = f"/api/folders/{check_id(folder_id, field='folder_id')}"
        return await self._client._request("PATCH", path, Folder, json=FolderUpdate(name=name))

    async def delete(self, folder_id: str) -> builtins.list[str]:
        """``DELETE /api/folders/{id}``: the ids of what was deleted."""
        path = f"/api/folders/{check_id(folder_id, field='folder_id')}"
        return await self._client._request("DELETE", path, builtins.list[str])

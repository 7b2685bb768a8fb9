"""Finding or creating the job's project and folders (once; their ids are kept in the journal)."""

from __future__ import annotations

from .._client import VoiceClient
from .._errors import APIConnectionError, InternalServerError
from .._validation import sanitize_label
from ._store import JobStore

__all__ = ["ensure_folders", "ensure_project"]

_ATTEMPTS = 3


def folder_name(text: str) -> str:
    """A valid project/folder name (at most 40 characters)."""
    return sanitize_label(text, fallback="folder")


async def ensure_project(client: VoiceClient, name: str) -> str:
    """The id of the project named ``name`` (the first one, if several), created if missing."""
    for attempt in range(_ATTEMPTS):
        async for project in client.projects.list(limit=100):  # the API's largest page
            if project.name == name:
                return project.id
        try:
            return (await client.projects.create(name)).id
        except (APIConnectionError, InternalServerError):
            # The create may have happened: the next pass finds it by name before creating again.
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def _ensure_folder(client: VoiceClient, project_id: str, name: str, parent_id: str | None) -> str:
    for attempt in range(_ATTEMPTS):
        async for folder in client.folders.list(project_id, limit=200):
            if folder.name == name and folder.parent_id == parent_id:
                return folder.id
        try:
            return (await client.folders.create(project_id, name, parent_id=parent_id)).id
        except (APIConnectionError, InternalServerError):
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


async def ensure_folders(client: VoiceClient, journal: JobStore, project_id: str, root_name: str) -> None:
    """One folder per distinct ``rel_dir`` of the items: the root folder, and nested ones when mirroring."""
    root = await journal.folder("")
    if root is None:
        root = await _ensure_folder(client, project_id, root_name, None)
    # Recorded again on every run: set_folder also gives the id to items discovered since
    # (inputs added to a resumed job, failures reopened by retry_failed).
    await journal.set_folder("", root)
    for rel_dir in await journal.folder_rel_dirs():
        if not rel_dir:
            continue
        if (known_dir := await journal.folder(rel_dir)) is not None:
            await journal.set_folder(rel_dir, known_dir)
            continue
        parent_rel = ""
        for part in rel_dir.split("/"):
            here = f"{parent_rel}/{part}" if parent_rel else part
            known = await journal.folder(here)
            if known is None:
                parent = await journal.folder(parent_rel)
                assert parent is not None
                folder_id = await _ensure_folder(client, project_id, folder_name(part), parent)
                await journal.set_folder(here, folder_id)
            parent_rel = here

"""Projects and folders (and the project export)."""

from __future__ import annotations

from aiohttp import web

from voiceapi_async._models import (
    DeletedId,
    Direction,
    Folder,
    FolderCreate,
    FolderPage,
    FolderUpdate,
    Pagination,
    Project,
    ProjectCreate,
    ProjectPage,
    ProjectRename,
    ProjectSortField,
    RecordingType,
    ValidationErrorItem,
)

from .._files import build_zip, ensure_audio
from .._http import (
    ApiError,
    bool_param,
    check_text,
    check_uuid,
    decode_body,
    enum_param,
    json_response,
    missing,
    page_params,
    raise_if,
    require_uuid,
)
from .._routes import Route
from .._store import FolderRec, ProjectRec, Store, UserRec, page_of, slugify, utc


def _name(value: str, errors: list[ValidationErrorItem]) -> None:
    check_text(value, ["body", "name"], errors, min_len=1, max_len=40)


async def list_projects(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    q = request.query
    errors: list[ValidationErrorItem] = []
    limit, offset = page_params(q, errors, 100)
    sort = enum_param(q, "sort", ProjectSortField, ProjectSortField.CREATED_AT, errors)
    direction = enum_param(q, "direction", Direction, Direction.DESC, errors)
    owner = q.get("owner")
    if owner is not None:
        check_uuid(owner, ["query", "owner"], errors)
    raise_if(errors)
    desc = direction == Direction.DESC
    recs = [st.projects[p] for p in user.projects]
    if owner is not None:
        recs = [r for r in recs if r.model.owner == owner]
    if sort == ProjectSortField.CREATED_AT and owner is None:
        items = [st.projects[p].model for p in page_of(user.projects, limit, offset, desc)]
    else:
        if sort == ProjectSortField.NAME:
            recs.sort(key=lambda r: r.model.name.lower(), reverse=desc)
        elif sort == ProjectSortField.LAST_RECORDING_AT:
            recs.sort(key=lambda r: r.model.last_recording_at or r.model.created_at or utc(0), reverse=desc)
        elif desc:
            recs.reverse()
        items = [r.model for r in recs[offset : offset + limit]]
    count = len(recs)
    return json_response(ProjectPage(list=items, pagination=Pagination(count=count, limit=limit, offset=offset)))


async def create_project(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, ProjectCreate)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    _name(body.name, errors)
    check_uuid(body.owner, ["body", "owner"], errors)
    raise_if(errors)
    if body.owner != user.id:
        raise ApiError(403, "Not allowed to create a project for this owner")
    pid = st.new_id()
    slug = slugify(body.name)
    model = Project(
        id=pid,
        name=body.name,
        owner=body.owner,
        slug=slug,
        url=f"{slug}-{pid[:8]}",
        models=body.models,
        created_at=utc(st.clock()),
    )
    st.projects[pid] = ProjectRec(model, user.id)
    user.projects[pid] = None
    st.counters.projects_created += 1
    return json_response(model)


def _project(st: Store, request: web.Request, user: UserRec) -> ProjectRec:
    return st.project(user, require_uuid(request.match_info["project_id"], ["path", "project_id"]))


async def _rename(
    rec: ProjectRec | FolderRec, request: web.Request, body_type: type[ProjectRename | FolderUpdate]
) -> web.StreamResponse:
    """PATCH of a project or a folder: the same one-field body, the same name rules."""
    body = await decode_body(request, body_type)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    _name(body.name, errors)
    raise_if(errors)
    rec.model.name = body.name
    return json_response(rec.model)


async def rename_project(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return await _rename(_project(st, request, user), request, ProjectRename)


async def delete_project(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    rec = _project(st, request, user)
    st.delete_project(rec)
    return json_response(DeletedId(id=rec.model.id))


async def project_by_url(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    url = request.query.get("project_url")
    if url is None:
        raise_if([missing(["query", "project_url"])])
    for pid in user.projects:
        model = st.projects[pid].model
        if url in (model.url, model.slug, model.id):
            return json_response(model)
    raise ApiError(404, "Project not found")


async def export_project(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    rec = _project(st, request, user)
    errors: list[ValidationErrorItem] = []
    starred_only = bool_param(request.query, "starred_only", errors)
    raise_if(errors)
    entries: list[tuple[str, str]] = []
    for rid in list(rec.recordings):
        r = st.recordings[rid]
        model = st.refresh(r)
        if starred_only and not model.starred:
            continue
        if model.type == RecordingType.CONVERTED and model.state != "done":
            continue
        folder = st.folders.get(model.parent_folder_id or "")
        prefix = f"{folder.model.name}/" if folder else ""
        entries.append((await ensure_audio(st, r), prefix + (model.file_name or f"{rid}.wav")))
    return await build_zip(st, entries, rec.model.slug or "project")


async def list_folders(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    q = request.query
    errors: list[ValidationErrorItem] = []
    project_id = q.get("project_id")
    check_uuid(project_id, ["query", "project_id"], errors)
    limit, offset = page_params(q, errors, 200)
    direction = enum_param(q, "direction", Direction, Direction.DESC, errors)
    raise_if(errors)
    assert project_id is not None
    project = st.project(user, project_id)
    ids = project.folders
    items = [st.folders[f].model for f in page_of(ids, limit, offset, direction == Direction.DESC)]
    return json_response(FolderPage(list=items, pagination=Pagination(count=len(ids), limit=limit, offset=offset)))


async def create_folder(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, FolderCreate)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    _name(body.name, errors)
    check_uuid(body.project_id, ["body", "project_id"], errors)
    if body.parent_id is not None:
        check_uuid(body.parent_id, ["body", "parent_id"], errors)
    raise_if(errors)
    project = st.project(user, body.project_id)
    if body.parent_id is not None and st.folder(user, body.parent_id).model.project_id != project.model.id:
        raise ApiError(400, "Parent folder belongs to another project")
    fid = st.new_id()
    model = Folder(
        id=fid, name=body.name, project_id=project.model.id, parent_id=body.parent_id, created_at=utc(st.clock())
    )
    st.folders[fid] = FolderRec(model, user.id)
    project.folders[fid] = None
    st.counters.folders_created += 1
    return json_response(model)


def _folder(st: Store, request: web.Request, user: UserRec) -> FolderRec:
    return st.folder(user, require_uuid(request.match_info["folder_id"], ["path", "folder_id"]))


async def get_folder(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(_folder(st, request, user).model)


async def rename_folder(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return await _rename(_folder(st, request, user), request, FolderUpdate)


async def delete_folder(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """The OpenAPI's ``[uuid]``: the ids of the folder and of the recordings deleted with it."""
    rec = _folder(st, request, user)
    return json_response(st.delete_folder(rec))


ROUTES = [
    Route("GET", "/api/projects", "projects.list", list_projects),
    Route("POST", "/api/projects", "projects.create", create_project),
    Route("GET", "/api/projects/by-url", "projects.by_url", project_by_url),
    Route("PATCH", "/api/projects/{project_id}", "projects.rename", rename_project),
    Route("DELETE", "/api/projects/{project_id}", "projects.delete", delete_project),
    Route("GET", "/api/projects/{project_id}/export", "projects.export", export_project, slow=True),
    Route("GET", "/api/folders", "folders.list", list_folders),
    Route("POST", "/api/folders", "folders.create", create_folder),
    Route("GET", "/api/folders/{folder_id}", "folders.get", get_folder),
    Route("PATCH", "/api/folders/{folder_id}", "folders.rename", rename_folder),
    Route("DELETE", "/api/folders/{folder_id}", "folders.delete", delete_folder),
]

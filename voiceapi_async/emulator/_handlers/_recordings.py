"""Recordings (upload, TTS, update, delete, lists, export), notes, TTS voices and file downloads."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from aiohttp import web

from voiceapi_async._models import (
    DeletedId,
    Direction,
    Note,
    NoteCreate,
    NoteDelete,
    NoteRef,
    NoteUpdate,
    Pagination,
    Recording,
    RecordingPage,
    RecordingPutUpdate,
    RecordingState,
    RecordingType,
    RecordingUpdate,
    TTSCreateV1,
    TTSCreateV2,
    TTSVoice,
    ValidationErrorItem,
)

from .._audio import CONTENT_TYPES, probe_duration, probe_duration_of, tts_duration
from .._files import audio_in_memory, build_zip, ensure_audio, ensure_waveform, send_file, send_sample
from .._http import (
    UUID_RE,
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
    validate_label,
)
from .._routes import Route
from .._store import FolderRec, RecRec, Store, UserRec, page_of, utc
from .._upload import receive_upload


def _page(st: Store, query: Any, errors: list[ValidationErrorItem], ids_of: Any) -> web.Response:
    """The one paginated recordings answer: ``ids_of()`` gives the (checked) index to page through."""
    limit, offset = page_params(query, errors, 200)
    direction = enum_param(query, "direction", Direction, Direction.DESC, errors)
    raise_if(errors)
    ids: dict[str, None] = ids_of()
    recs = st.recordings
    items = [st.refresh(recs[r]) for r in page_of(ids, limit, offset, direction == Direction.DESC)]
    return json_response(RecordingPage(list=items, pagination=Pagination(count=len(ids), limit=limit, offset=offset)))


async def list_recordings(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    q = request.query
    errors: list[ValidationErrorItem] = []
    project_id, folder_id = q.get("project_id"), q.get("folder_id")
    if folder_id is not None:
        check_uuid(folder_id, ["query", "folder_id"], errors)
    elif project_id is not None:
        check_uuid(project_id, ["query", "project_id"], errors)
    else:
        errors.append(missing(["query", "folder_id"]))

    def ids() -> dict[str, None]:
        if folder_id is not None:
            return st.folder(user, folder_id).recordings
        return st.project(user, project_id or "").recordings

    return _page(st, q, errors, ids)


async def list_originals(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    errors: list[ValidationErrorItem] = []
    folder_id = request.query.get("folder_id")
    check_uuid(folder_id, ["query", "folder_id"], errors)
    return _page(st, request.query, errors, lambda: st.folder(user, folder_id or "").originals)


async def list_conversions(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    errors: list[ValidationErrorItem] = []
    original_id = request.query.get("original_id")
    check_uuid(original_id, ["query", "original_id"], errors)
    return _page(st, request.query, errors, lambda: st.recording(user, original_id or "").conversions)


def _new_original(
    st: Store, user: UserRec, folder: FolderRec, *, file_name: str, fmt: str, path: str | None, **fields: Any
) -> RecRec:
    """Store a new original that becomes ``done`` after ``original_delay`` (or ``error``)."""
    cfg, now = st.config, st.clock()
    rid = st.new_id()
    failed = st.rng.random() < cfg.original_error_rate
    model = Recording(
        id=rid,
        project_id=folder.model.project_id,
        type=RecordingType.ORIGINAL,
        state=RecordingState.PROCESSING,
        parent_folder_id=folder.model.id,
        url=st.file_url(rid, file_name),
        waveform_url=st.file_url(rid, "waveform.json"),
        file_name=file_name,
        created_at=utc(now),
        **fields,
    )
    rec = RecRec(model, user.id, fmt, path, now + cfg.original_delay, "Processing failed" if failed else None)
    st.add_recording(rec, folder)
    st.refresh(rec)
    return rec


async def create(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    upload = await receive_upload(st, request)
    try:
        f = upload.fields
        errors: list[ValidationErrorItem] = []
        if not upload.received:
            errors.append(missing(["body", "data"]))
        check_uuid(f.get("parent_folder_id"), ["body", "parent_folder_id"], errors)
        if "microphone" not in f:
            errors.append(missing(["body", "microphone"]))
        label = f.get("label") or None
        validate_label(label, ["body", "label"], errors)
        raise_if(errors)
        folder = st.folder(user, f["parent_folder_id"])
        if upload.fmt is None:
            raise ApiError(400, "Unsupported audio format")
    except BaseException:
        upload.discard()
        raise
    file_name = upload.filename or f"recording.{upload.fmt}"
    if upload.data is not None:  # small: kept in memory until a conversion or a download needs it on disk
        duration = probe_duration_of(io.BytesIO(upload.data), upload.size, upload.fmt)
    else:
        assert upload.path is not None
        duration = await asyncio.to_thread(probe_duration, upload.path, upload.fmt)
    rec = _new_original(
        st,
        user,
        folder,
        file_name=file_name,
        fmt=upload.fmt,
        path=None,
        label=label,
        microphone=f["microphone"],
        size=upload.size,
        duration=duration,
    )
    if upload.data is None or not st.keep_data(rec, upload.data):
        rec.path = st.path_for(f"{rec.model.id}.{upload.fmt}")
        await asyncio.to_thread(upload.save, rec.path)
    c = st.counters
    c.uploads_total += 1
    c.uploads_bytes += upload.size
    c.uploads_by_user_file[f"{user.id}:{file_name}"] += 1
    if label:
        c.uploads_by_label[label] += 1
    return json_response(rec.model)


def _tts(st: Store, user: UserRec, folder: FolderRec, text: str, label: str | None, voice: TTSVoice) -> web.Response:
    rec = _new_original(
        st,
        user,
        folder,
        file_name=f"tts-{st.new_id()[:8]}.wav",
        fmt="wav",
        path=None,
        label=label,
        size=None,
        duration=tts_duration(text),
        tts=True,
        tts_voice=voice.name,
        tts_voice_id=voice.id,
        text=text,
    )
    st.counters.tts_created += 1
    return json_response(rec.model)


def _check_tts_text(text: str, label: str | None, errors: list[ValidationErrorItem]) -> None:
    check_text(text, ["body", "text"], errors, min_len=1, max_len=1000)
    validate_label(label, ["body", "label"], errors)


def _tts_voice(st: Store, voice_id: str | None) -> TTSVoice:
    cat = st.catalogue
    if voice_id is None:
        return next(v for v in cat.tts_voices if v.is_default)
    voice = cat.tts_by_id.get(voice_id)
    if voice is None:
        raise ApiError(404, "TTS voice not found")
    return voice


async def tts_v2(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, TTSCreateV2)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    check_uuid(body.parent_folder_id, ["body", "parent_folder_id"], errors)
    if body.tts_voice_id is not None:
        check_uuid(body.tts_voice_id, ["body", "tts_voice_id"], errors)
    _check_tts_text(body.text, body.label, errors)
    raise_if(errors)
    folder = st.folder(user, body.parent_folder_id)
    return _tts(st, user, folder, body.text, body.label, _tts_voice(st, body.tts_voice_id))


async def tts_v1(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """Deprecated v1: the same, with an explicit project and a required TTS ``voice_id``."""
    body = await decode_body(request, TTSCreateV1)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    for name in ("project_id", "parent_folder_id", "voice_id"):
        check_uuid(getattr(body, name), ["body", name], errors)
    _check_tts_text(body.text, body.label, errors)
    raise_if(errors)
    folder = st.folder(user, body.parent_folder_id)
    if folder.model.project_id != st.project(user, body.project_id).model.id:
        raise ApiError(400, "Folder does not belong to the project")
    return _tts(st, user, folder, body.text, body.label, _tts_voice(st, body.voice_id))


def _rec(st: Store, request: web.Request, user: UserRec) -> RecRec:
    return st.recording(user, require_uuid(request.match_info["recording_id"], ["path", "recording_id"]))


async def get(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(_rec(st, request, user).model)


async def _update(
    st: Store, request: web.Request, user: UserRec, body_type: type[RecordingUpdate] | type[RecordingPutUpdate]
) -> web.StreamResponse:
    rec = _rec(st, request, user)
    body = await decode_body(request, body_type)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    validate_label(body.label, ["body", "label"], errors)
    raise_if(errors)
    if body.label is not None:
        rec.model.label = body.label
    if body.starred is not None:
        rec.model.starred = body.starred
    return json_response(rec.model)


async def patch(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return await _update(st, request, user, RecordingUpdate)


async def put(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return await _update(st, request, user, RecordingPutUpdate)


async def delete(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """The OpenAPI's ``[RecordingDeleteResp]``: the original and its conversions."""
    rec = _rec(st, request, user)
    return json_response([DeletedId(id=rid) for rid in st.delete_recording(rec)])


async def export(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """All finished conversions of an original (only the starred ones with ``starred_only``)."""
    errors: list[ValidationErrorItem] = []
    original_id = request.query.get("original_id")
    check_uuid(original_id, ["query", "original_id"], errors)
    starred_only = bool_param(request.query, "starred_only", errors)
    raise_if(errors)
    original = st.recording(user, original_id or "")
    entries: list[tuple[str, str]] = []
    for cid in list(original.conversions):
        conv = st.recordings[cid]
        model = st.refresh(conv)
        if model.state == RecordingState.DONE and (model.starred or not starred_only):
            entries.append((await ensure_audio(st, conv), model.file_name or f"{cid}.wav"))
    stem = (original.model.file_name or "original").rsplit(".", 1)[0]
    return await build_zip(st, entries, f"{stem}-conversions")


async def tts_voices(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(st.catalogue.tts_voices)


def _note_target(st: Store, user: UserRec, recording_id: str) -> RecRec:
    return st.recording(user, require_uuid(recording_id, ["body", "recording_id"]))


async def note_create(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, NoteCreate)
    assert body is not None
    return _set_note(st, user, body.recording_id, body.text, create=True)


async def note_update(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, NoteUpdate)
    assert body is not None
    return _set_note(st, user, body.recording_id, body.text, create=False)


def _set_note(st: Store, user: UserRec, recording_id: str, text: str, *, create: bool) -> web.Response:
    errors: list[ValidationErrorItem] = []
    check_text(text, ["body", "text"], errors, max_len=2000)
    raise_if(errors)
    rec = _note_target(st, user, recording_id)
    note = rec.model.note
    if note is None:
        if not create:
            raise ApiError(404, "Note not found")
        note = rec.model.note = NoteRef(id=st.new_id(), text=text)
    else:
        note.text = text
    return json_response(Note(id=note.id, recording_id=rec.model.id, text=note.text))


async def note_list(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """``GET /api/notes?folder_id=``: every note of a folder's recordings (in the OpenAPI only)."""
    folder = st.folder(user, require_uuid(request.query.get("folder_id"), ["query", "folder_id"]))
    notes = []
    for rid in folder.recordings:
        note = st.recordings[rid].model.note
        if note is not None:
            notes.append(Note(id=note.id, recording_id=rid, text=note.text))
    return json_response(notes)


async def note_delete(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    body = await decode_body(request, NoteDelete)
    assert body is not None
    rec = _note_target(st, user, body.recording_id)
    note = rec.model.note
    if note is None:
        raise ApiError(404, "Note not found")
    rec.model.note = None
    return json_response(Note(id=note.id, recording_id=rec.model.id, text=note.text, active=False))


#: Request headers that ``web.FileResponse`` acts on (a small file in memory is sent whole without them).
_RANGED = ("Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since")


async def download(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """``/api/files/{recording_id}/{file_name}``: the audio, its ``waveform.json``, or an accent sample."""
    rid, name = request.match_info["recording_id"], request.match_info["file_name"]
    if rid == "samples":  # of an accent or a narration style
        owner_id = name.rsplit(".", 1)[0]
        if owner_id not in st.catalogue.accent_owner and owner_id not in st.catalogue.style_owner:
            raise ApiError(404, "File not found")
        return await send_sample(st, owner_id, name)
    rec = st.recordings.get(rid) if UUID_RE.match(rid) else None
    if rec is None or rec.user_id != user.id:
        raise ApiError(404, "File not found")
    model = st.refresh(rec)
    if model.type == RecordingType.CONVERTED and model.state != RecordingState.DONE:
        raise ApiError(404, "File not found")
    if name == "waveform.json":
        return send_file(await ensure_waveform(st, rec), "application/json")
    if name != model.file_name:
        raise ApiError(404, "File not found")
    fmt = "wav" if model.type == RecordingType.CONVERTED or model.tts else rec.fmt
    headers = request.headers
    if not any(h in headers for h in _RANGED):  # ranges and conditions are answered from a file
        data = audio_in_memory(st, rec)
        if data is not None:
            return web.Response(body=data, headers={"Content-Type": CONTENT_TYPES[fmt], "Accept-Ranges": "bytes"})
    return send_file(await ensure_audio(st, rec), CONTENT_TYPES[fmt])


def converted_file_name(original: Recording, voice_slug: str) -> str:
    stem = (original.file_name or "recording").rsplit(".", 1)[0]
    return f"{stem}-{voice_slug}.wav"


ROUTES = [
    Route("GET", "/api/recordings", "recordings.list", list_recordings),
    Route("POST", "/api/recordings", "recordings.create", create, slow=True),
    Route("GET", "/api/recordings/originals", "recordings.originals", list_originals),
    Route("GET", "/api/recordings/conversions", "recordings.conversions", list_conversions),
    Route("GET", "/api/recordings/export", "recordings.export", export, slow=True),
    Route("POST", "/api/recordings/tts", "recordings.tts_v1", tts_v1, slow=True),
    Route("GET", "/api/recordings/{recording_id}", "recordings.get", get),
    Route("PATCH", "/api/recordings/{recording_id}", "recordings.update", patch),
    Route("PUT", "/api/recordings/{recording_id}", "recordings.replace", put),
    Route("DELETE", "/api/recordings/{recording_id}", "recordings.delete", delete),
    Route("POST", "/api/v2/recordings/tts", "tts.create", tts_v2, slow=True),
    Route("GET", "/api/tts-voices", "tts.voices", tts_voices),
    Route("GET", "/api/notes", "notes.list", note_list),
    Route("POST", "/api/notes", "notes.create", note_create),
    Route("PUT", "/api/notes", "notes.update", note_update),
    Route("DELETE", "/api/notes", "notes.delete", note_delete),
    Route("GET", "/api/files/{recording_id}/{file_name}", "files.get", download),
]

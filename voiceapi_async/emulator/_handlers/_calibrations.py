"""Calibrations: multipart upload, list/get/delete, enable, auto."""

from __future__ import annotations

from aiohttp import web

from voiceapi_async._models import (
    Calibration,
    CalibrationPage,
    CalibrationRename,
    CalibrationState,
    Pagination,
    ValidationErrorItem,
)

from .._audio import estimate_f0
from .._http import (
    ApiError,
    decode_body,
    json_response,
    missing,
    page_params,
    raise_if,
    require_uuid,
    validate_label,
)
from .._routes import Route
from .._store import CalRec, Store, UserRec, page_of, utc
from .._upload import receive_upload
from ._auth import OK


async def create(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    upload = await receive_upload(st, request)
    try:
        errors: list[ValidationErrorItem] = []
        name = upload.fields.get("name")
        if name is None:
            errors.append(missing(["body", "name"]))
        validate_label(name, ["body", "name"], errors)
        if not upload.received:
            errors.append(missing(["body", "data"]))
        raise_if(errors)
        assert name is not None
        if upload.fmt is None:
            raise ApiError(400, "Unsupported audio format")
        _check_unique(st, user, name)
    except BaseException:
        upload.discard()
        raise
    cfg, now, rng = st.config, st.clock(), st.rng
    cid = st.new_id()
    path = st.path_for(f"{cid}.{upload.fmt}")
    upload.save(path)  # a rename, or a small write to the page cache (as before: no thread hop)
    fallback = round(rng.uniform(90, 250), 1)
    f0 = estimate_f0(path, upload.fmt, fallback) if upload.size <= (16 << 20) else fallback
    failed = rng.random() < cfg.calibration_error_rate
    model = Calibration(
        id=cid,
        name=name,
        state=CalibrationState.PROCESSING,
        user_id=user.id,
        algorithm="auto",
        bucket="emulator",
        key=f"calibrations/{cid}.{upload.fmt}",
        created_at=utc(now),
        enabled=False,
    )
    st.calibrations[cid] = CalRec(
        model, user.id, path, now + cfg.calibration_delay, "Calibration failed: no voiced audio" if failed else None, f0
    )
    user.calibrations[cid] = None
    st.counters.calibrations_created += 1
    return json_response(st.refresh_calibration(st.calibrations[cid]))


async def list_(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    errors: list[ValidationErrorItem] = []
    limit, offset = page_params(request.query, errors, 200)
    raise_if(errors)
    search = (request.query.get("search") or "").lower()
    ids: dict[str, None] = user.calibrations
    if search:
        ids = {c: None for c in ids if search in st.calibrations[c].model.name.lower()}
    items = [st.refresh_calibration(st.calibrations[c]) for c in page_of(ids, limit, offset, True)]
    if st.config.calibrations_shape == "list":  # the endpoint reference's shape
        return json_response(items)
    return json_response(CalibrationPage(list=items, pagination=Pagination(count=len(ids), limit=limit, offset=offset)))


def _check_unique(st: Store, user: UserRec, name: str, but: str | None = None) -> None:
    if any(st.calibrations[c].model.name == name for c in user.calibrations if c != but):
        raise ApiError(400, "Calibration name already exists")


def _get(st: Store, request: web.Request, user: UserRec) -> CalRec:
    return st.calibration(user, require_uuid(request.match_info["calibration_id"], ["path", "calibration_id"]))


async def get(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    return json_response(_get(st, request, user).model)


async def rename(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """``PATCH /api/calibration/{id}`` (in the OpenAPI, not in the endpoint reference)."""
    rec = _get(st, request, user)
    body = await decode_body(request, CalibrationRename)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    validate_label(body.name, ["body", "name"], errors)
    raise_if(errors)
    _check_unique(st, user, body.name, but=rec.model.id)
    rec.model.name = body.name
    return json_response(rec.model)


async def delete(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    rec = _get(st, request, user)
    del st.calibrations[rec.model.id]
    user.calibrations.pop(rec.model.id, None)
    if user.enabled_calibration == rec.model.id:
        user.enabled_calibration = None
    rec.model.enabled = False
    return json_response(rec.model)


async def enable(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    rec = _get(st, request, user)
    if rec.model.state != CalibrationState.CALIBRATED:
        raise ApiError(400, "Calibration is not calibrated")
    _disable_all(st, user)
    rec.model.enabled = True
    user.enabled_calibration = rec.model.id
    return json_response(rec.model)


def _disable_all(st: Store, user: UserRec) -> None:
    if user.enabled_calibration and (old := st.calibrations.get(user.enabled_calibration)):
        old.model.enabled = False
    user.enabled_calibration = None


async def auto(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    _disable_all(st, user)
    return json_response(OK)


ROUTES = [
    Route("POST", "/api/calibration/auto", "calibrations.auto", auto),
    Route("POST", "/api/calibration", "calibrations.create", create, slow=True),
    Route("GET", "/api/calibration", "calibrations.list", list_),
    Route("GET", "/api/calibration/{calibration_id}", "calibrations.get", get),
    Route("PATCH", "/api/calibration/{calibration_id}", "calibrations.rename", rename),
    Route("DELETE", "/api/calibration/{calibration_id}", "calibrations.delete", delete),
    Route("PUT", "/api/calibration/{calibration_id}/enable", "calibrations.enable", enable),
]

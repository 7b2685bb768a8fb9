"""Orders (conversions), retries, credits and statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from voiceapi_async._models import (
    CalibrationState,
    ConversionStats,
    CreditBalance,
    FolderStats,
    ModelStats,
    MonthDuration,
    Order,
    OrderRequest,
    OrderState,
    ProjectStats,
    Recording,
    RecordingState,
    RecordingType,
    StatsDuration,
    StatsDurationWithHistory,
    StatsFolderRequest,
    StatsProjectRequest,
    UserStats,
    ValidationErrorItem,
)

from .._http import (
    ApiError,
    Invalid,
    check_uuid,
    decode_body,
    json_response,
    missing,
    raise_if,
    require_uuid,
    validate_label,
)
from .._routes import Route
from .._store import RecRec, Store, UserRec, utc
from ._recordings import converted_file_name

_MAX_IDS = 200


def _schedule(st: Store, rec: RecRec, original: RecRec) -> None:
    """Draw the outcome and the time it is known; the clock starts once the original is done."""
    cfg = st.config
    start = max(st.clock(), original.ready_at or 0.0)
    rec.ready_at = start + st.rng.uniform(*cfg.conversion_delay)
    if original.outcome_error is not None or original.model.state == RecordingState.ERROR:
        rec.outcome_error = "Original recording failed"
    elif st.rng.random() < cfg.conversion_error_rate:
        rec.outcome_error = "Conversion failed"
    else:
        rec.outcome_error = None
    st.users[rec.user_id].pending.add(rec.model.id)


def _charge(st: Store, user: UserRec, rec: RecRec) -> None:
    rec.charged = rec.model.duration
    user.credits -= rec.charged
    st.counters.credits_spent += rec.charged


def _order(st: Store, rec: RecRec, calibration_id: str | None, f0: float | None) -> Order:
    model = rec.model
    order = Order(
        id=st.new_id(),
        original_id=model.original_id or "",
        conversion_id=model.id,
        state=OrderState.NEW,
        user_id=rec.user_id,
        tracking_id=st.new_id(),
        transaction_id=st.new_id(),
        calibration_id=calibration_id,
        f0=f0,
        created_at=utc(st.clock()),
    )
    rec.order = order
    return order


async def create(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """Validate everything first: an order is all-or-nothing (402 leaves no trace)."""
    body = await decode_body(request, OrderRequest)
    assert body is not None
    errors: list[ValidationErrorItem] = []
    check_uuid(body.original_id, ["body", "original_id"], errors)
    if not body.conversions:
        errors.append(
            ValidationErrorItem(
                loc=["body", "conversions"],
                msg="ensure this value has at least 1 items",
                type="value_error.list.min_items",
            )
        )
    for i, conv in enumerate(body.conversions):
        check_uuid(conv.voice_id, ["body", "conversions", i, "voice_id"], errors)
        for name in ("accent_id", "narration_style_id"):
            if getattr(conv, name) is not None:
                check_uuid(getattr(conv, name), ["body", "conversions", i, name], errors)
        validate_label(conv.label, ["body", "conversions", i, "label"], errors)
    if body.calibration_id is not None:
        check_uuid(body.calibration_id, ["body", "calibration_id"], errors)
    raise_if(errors)
    original = st.recording(user, body.original_id)
    if original.model.type != RecordingType.ORIGINAL:
        raise ApiError(400, "Only original recordings can be converted")
    if original.model.state == RecordingState.ERROR:
        raise ApiError(400, "Original recording failed processing")
    cat = st.catalogue
    voices = []
    for i, conv in enumerate(body.conversions):
        voice = cat.voice_by_id.get(conv.voice_id)
        if voice is None:
            raise ApiError(400, f"Voice {conv.voice_id} not found")
        if conv.accent_id is not None and cat.accent_owner.get(conv.accent_id) != voice.id:
            raise ApiError(400, f"Accent {conv.accent_id} does not belong to voice {voice.id}")
        if original.model.tts:
            if conv.narration_style_id is None:
                raise Invalid([missing(["body", "conversions", i, "narration_style_id"])])
            if cat.style_owner.get(conv.narration_style_id) != voice.id:
                raise ApiError(400, f"Narration style {conv.narration_style_id} does not belong to voice {voice.id}")
        voices.append(voice)
    calibration_id, f0 = _calibration(st, user, body)
    cost = original.model.duration * len(body.conversions)
    if cost > user.credits + 1e-9:
        raise ApiError(402, "Insufficient credits")
    orders = []
    for conv, voice in zip(body.conversions, voices, strict=True):
        semitones = (voice.pitch or 0.0) + (conv.semitones_correction or 0.0)
        if conv.semitones_correction is None:
            accent = conv.accent_id or cat.default_accent[voice.id]
            setting = user.accent_settings.get(accent)
            semitones += setting[1] if setting else 0.0
        cid = st.new_id()
        model = Recording(
            id=cid,
            project_id=original.model.project_id,
            type=RecordingType.CONVERTED,
            state=RecordingState.PROCESSING,
            parent_folder_id=original.model.parent_folder_id,
            file_name=converted_file_name(original.model, voice.slug),
            label=conv.label,
            original_id=original.model.id,
            model_id=voice.id,
            model_name=voice.name,
            calibration_id=calibration_id,
            calibration_value=f0,
            microphone=original.model.microphone,
            duration=original.model.duration,
            tts=original.model.tts,
            text=original.model.text,
            params={"accent_id": conv.accent_id, "narration_style_id": conv.narration_style_id, "semitones": semitones},
            created_at=utc(st.clock()),
        )
        rec = RecRec(model, user.id, "wav", semitones=semitones, tag=f"voice={voice.id};semitones={semitones:g}")
        _schedule(st, rec, original)
        _charge(st, user, rec)
        folder = st.folders[original.model.parent_folder_id or ""]
        st.add_recording(rec, folder)
        original.conversions[cid] = None
        user.conversions[cid] = None
        orders.append(_order(st, rec, calibration_id, f0))
    c = st.counters
    c.orders_total += 1
    c.orders_by_original[original.model.id] += 1
    c.conversions_created += len(orders)
    return json_response(orders)


def _calibration(st: Store, user: UserRec, body: OrderRequest) -> tuple[str | None, float | None]:
    cid = body.calibration_id if body.use_calibration or body.calibration_id else user.enabled_calibration
    if cid is None:
        return None, None
    cal = st.calibration(user, cid)
    if cal.model.state != CalibrationState.CALIBRATED:
        raise ApiError(400, "Calibration is not calibrated")
    return cid, cal.model.f0


async def retry(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    rec = st.recording(user, require_uuid(request.match_info["recording_id"], ["path", "recording_id"]))
    model = rec.model
    if model.type != RecordingType.CONVERTED or model.state != RecordingState.ERROR:
        raise ApiError(400, "Only failed conversions can be retried")
    original = st.recordings.get(model.original_id or "")
    if original is None:
        raise ApiError(404, "Recording not found")
    if model.duration > user.credits + 1e-9:
        raise ApiError(402, "Insufficient credits")
    model.state = RecordingState.PROCESSING
    model.error = None
    _schedule(st, rec, original)
    _charge(st, user, rec)
    order = _order(st, rec, model.calibration_id, model.calibration_value)
    st.counters.retries_total += 1
    return json_response(order)


async def credits(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    st.settle(user)
    return json_response(CreditBalance(credits=round(user.credits, 3), initial_credits=user.initial_credits))


def _month(d: dt.datetime) -> dt.date:
    return d.date().replace(day=1)


def _tally(recs: Iterable[Recording], this_month: dt.date) -> tuple[ConversionStats, float, float]:
    stats = ConversionStats()
    total = current = 0.0
    for m in recs:
        stats.total += 1
        if m.state == RecordingState.DONE:
            stats.completed += 1
            total += m.duration
            if m.converted_at is not None and _month(m.converted_at) == this_month:
                current += m.duration
        elif m.state == RecordingState.ERROR:
            stats.failed += 1
        else:
            stats.in_progress += 1
    return stats, round(total, 3), round(current, 3)


def _conversions(st: Store, user: UserRec, ids: Iterable[str]) -> list[Recording]:
    st.settle(user)
    recs = st.recordings
    return [recs[r].model for r in ids if r in recs and recs[r].model.type == RecordingType.CONVERTED]


async def stats_user(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    this_month = _month(utc(st.clock()))
    convs = _conversions(st, user, user.conversions)
    stats, total, current = _tally(convs, this_month)
    months: dict[dt.date, float] = {}
    per_voice: dict[str, ModelStats] = {}
    for m in convs:
        ms = per_voice.get(m.model_id or "")
        if ms is None:
            ms = per_voice[m.model_id or ""] = ModelStats(id=m.model_id or "", name=m.model_name or "")
        ms.conversions_count += 1
        if m.state == RecordingState.DONE:
            ms.converted_time = round(ms.converted_time + m.duration, 3)
            if m.converted_at is not None and (month := _month(m.converted_at)) != this_month:
                months[month] = months.get(month, 0.0) + m.duration
    history = [MonthDuration(month=k, duration=round(v, 3)) for k, v in sorted(months.items())]
    return json_response(
        UserStats(
            time_converted=StatsDurationWithHistory(total=total, current_month=current, previous_monthes=history),
            conversions=stats,
            models=list(per_voice.values()),
        )
    )


async def _ids(request: web.Request, name: str, body_type: Any) -> list[str]:
    """The ids from the JSON body (OpenAPI: POST) or, for a bodiless GET, repeated query parameters."""
    body = await decode_body(request, body_type, allow_empty=request.method == "GET")
    ids: list[str] = list(getattr(body, name)) if body is not None else list(request.query.getall(name, ()))
    errors: list[ValidationErrorItem] = []
    if len(ids) > _MAX_IDS:
        errors.append(
            ValidationErrorItem(
                loc=["body", name],
                msg=f"ensure this value has at most {_MAX_IDS} items",
                type="value_error.list.max_items",
            )
        )
    for i, v in enumerate(ids):
        check_uuid(v, ["body", name, i], errors)
    raise_if(errors)
    return ids


def _check_stats_method(st: Store, request: web.Request) -> None:
    """``EmulatorConfig.stats_method``: a server that knows only one of GET and POST."""
    allowed = st.config.stats_method
    if allowed != "any" and request.method != allowed:
        raise ApiError(405, "Method Not Allowed", {"Allow": allowed})


async def stats_projects(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    """Stats of the caller's projects among the ids; ids of others (or unknown) are left out."""
    _check_stats_method(st, request)
    this_month = _month(utc(st.clock()))
    out = []
    for pid in await _ids(request, "project_ids", StatsProjectRequest):
        project = st.projects.get(pid)
        if project is None or project.user_id != user.id:
            continue
        stats, total, current = _tally(_conversions(st, user, project.recordings), this_month)
        out.append(
            ProjectStats(
                project_id=pid, time_converted=StatsDuration(total=total, current_month=current), conversions=stats
            )
        )
    return json_response(out)


async def stats_folders(st: Store, request: web.Request, user: UserRec) -> web.StreamResponse:
    _check_stats_method(st, request)
    this_month = _month(utc(st.clock()))
    out = []
    for fid in await _ids(request, "folder_ids", StatsFolderRequest):
        folder = st.folders.get(fid)
        if folder is None or folder.user_id != user.id:
            continue
        stats, _, _ = _tally(_conversions(st, user, folder.recordings), this_month)
        out.append(FolderStats(folder_id=fid, stats=stats))
    return json_response(out)


ROUTES = [
    Route("POST", "/api/v2/orders", "orders.create", create, slow=True),
    Route("POST", "/api/v2/orders/retry/{recording_id}", "orders.retry", retry, slow=True),
    Route("GET", "/api/credits", "credits.get", credits),
    Route("GET", "/api/stats", "stats.user", stats_user),
    Route("GET", "/api/stats/projects", "stats.projects", stats_projects),
    Route("POST", "/api/stats/projects", "stats.projects", stats_projects),
    Route("GET", "/api/stats/folders", "stats.folders", stats_folders),
    Route("POST", "/api/stats/folders", "stats.folders", stats_folders),
]

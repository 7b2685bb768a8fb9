"""The in-memory state of the service: users, library, orders, with O(1) lookups and per-parent indexes.

Records keep the shared response model itself (a mutable ``msgspec.Struct``) next to the
hidden fields the emulator needs, so answering a GET is an encode of a stored struct.

Time-based state needs no background task: a processing recording or calibration keeps
its ``ready_at`` and a pre-drawn outcome, and every read calls ``refresh`` first.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import os
import random
import re
import secrets
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from urllib.parse import quote

from voiceapi_async._models import (
    Calibration,
    CalibrationState,
    Folder,
    Order,
    OrderState,
    Project,
    RateLimit,
    Recording,
    RecordingState,
    RecordingType,
    User,
    UserData,
    UserRateLimits,
)

from ._catalogue import Catalogue, uuid4_text
from ._config import EmulatorConfig
from ._counters import Counters
from ._http import ApiError

__all__ = ["CalRec", "FolderRec", "ProjectRec", "RecRec", "SeededUser", "Session", "Store", "UserRec"]

Clock = Callable[[], float]
_SLUG_RE = re.compile(r"[^a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class SeededUser:
    """A ready-made account: log in with ``email``/``password`` or send ``api_key``."""

    id: str
    email: str
    password: str
    api_key: str
    username: str


@dataclasses.dataclass(eq=False)
class UserRec:
    id: str
    email: str
    password: str
    username: str
    credits: float
    initial_credits: float
    api_keys: set[str] = dataclasses.field(default_factory=set)
    projects: dict[str, None] = dataclasses.field(default_factory=dict)
    calibrations: dict[str, None] = dataclasses.field(default_factory=dict)
    conversions: dict[str, None] = dataclasses.field(default_factory=dict)
    pending: set[str] = dataclasses.field(default_factory=set)
    enabled_calibration: str | None = None
    voice_favorites: set[str] = dataclasses.field(default_factory=set)
    accent_settings: dict[str, tuple[bool, float]] = dataclasses.field(default_factory=dict)
    style_favorites: set[str] = dataclasses.field(default_factory=set)


@dataclasses.dataclass(eq=False)
class Session:
    user_id: str
    csrf: str
    expires_at: float


@dataclasses.dataclass(eq=False)
class ProjectRec:
    model: Project
    user_id: str
    folders: dict[str, None] = dataclasses.field(default_factory=dict)
    recordings: dict[str, None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class FolderRec:
    model: Folder
    user_id: str
    recordings: dict[str, None] = dataclasses.field(default_factory=dict)
    originals: dict[str, None] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(eq=False)
class RecRec:
    """A recording; ``path`` is its audio on disk (generated lazily for TTS and conversions).

    A small uploaded original is kept in ``data`` until something needs it on disk.
    """

    model: Recording
    user_id: str
    fmt: str
    path: str | None = None
    ready_at: float | None = None
    outcome_error: str | None = None
    charged: float = 0.0
    semitones: float = 0.0
    tag: str = ""
    order: Order | None = None
    conversions: dict[str, None] = dataclasses.field(default_factory=dict)
    data: bytes | None = None


#: Small uploads kept in memory, in all (see ``Store.keep_data``).
MEMORY_BUDGET = 64 << 20


@dataclasses.dataclass(eq=False)
class CalRec:
    model: Calibration
    user_id: str
    path: str
    ready_at: float | None
    outcome_error: str | None
    f0: float


def utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc)


def slugify(name: str) -> str:
    return _SLUG_RE.sub("-", name.lower()).strip("-") or "project"


class Store:
    """All state of one emulator instance."""

    def __init__(self, config: EmulatorConfig, clock: Clock, counters: Counters, data_dir: str) -> None:
        self.config = config
        self.clock = clock
        self.counters = counters
        self.data_dir = data_dir
        self._ids = random.Random(f"ids-{config.seed}")
        self.rng = random.Random(config.seed)
        self.catalogue = Catalogue(config.seed, config.voice_count)
        self.users: dict[str, UserRec] = {}
        self.api_keys: dict[str, str] = {}
        self.sessions: dict[str, Session] = {}
        self.projects: dict[str, ProjectRec] = {}
        self.folders: dict[str, FolderRec] = {}
        self.recordings: dict[str, RecRec] = {}
        self.calibrations: dict[str, CalRec] = {}
        self.seeded: list[SeededUser] = []
        self.inflight: dict[str, asyncio.Future[str]] = {}
        #: Bytes of small uploads kept in memory (``RecRec.data``); past ``MEMORY_BUDGET`` they go to disk.
        self.kept_bytes = 0
        self.recent_exports: collections.deque[str] = collections.deque()
        for i in range(max(config.users, 1)):
            n = i + 1
            user = UserRec(
                id=self.new_id(),
                email=f"user{n}@example.com",
                password=f"password{n}",
                username=f"user{n}",
                credits=config.initial_credits,
                initial_credits=config.initial_credits,
            )
            key = f"emu-{n}-{self._ids.getrandbits(96):024x}"
            self.users[user.id] = user
            self.add_api_key(user, key)
            self.seeded.append(SeededUser(user.id, user.email, user.password, key, user.username))

    # -- ids, users, sessions -------------------------------------------------------------

    def new_id(self) -> str:
        return uuid4_text(self._ids.getrandbits(128))

    def path_for(self, name: str) -> str:
        return os.path.join(self.data_dir, name)

    def add_api_key(self, user: UserRec, key: str) -> None:
        user.api_keys.add(key)
        self.api_keys[key] = user.id

    def replace_api_key(self, user: UserRec) -> str:
        """The account has one key: a new one invalidates the old ones."""
        self.drop_api_keys(user)
        key = "emu-" + secrets.token_hex(16)
        self.add_api_key(user, key)
        return key

    def drop_api_keys(self, user: UserRec) -> None:
        for key in user.api_keys:
            self.api_keys.pop(key, None)
        user.api_keys.clear()

    def new_session(self, user: UserRec, ttl: float) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(24)
        session = Session(user.id, secrets.token_urlsafe(24), self.clock() + ttl)
        self.sessions[sid] = session
        return sid, session

    def user_model(self, user: UserRec) -> User:
        rl = self.config.rate_limits
        limits = UserRateLimits(
            fast=RateLimit(times=rl.fast.times, seconds=round(rl.fast.seconds)),
            slow=RateLimit(times=rl.slow.times, seconds=round(rl.slow.seconds)),
        )
        return User(
            id=user.id,
            email=user.email,
            verified=True,
            username=user.username,
            first_name=user.username.capitalize(),
            last_name="Emulated",
            roles=["user"],
            data=UserData(rate_limits=limits, credit_limit=True, bucket="emulator"),
        )

    # -- ownership: another user's object is indistinguishable from a missing one ---------

    def project(self, user: UserRec, pid: str) -> ProjectRec:
        rec = self.projects.get(pid)
        if rec is None or rec.user_id != user.id:
            raise ApiError(404, "Project not found")
        return rec

    def folder(self, user: UserRec, fid: str) -> FolderRec:
        rec = self.folders.get(fid)
        if rec is None or rec.user_id != user.id:
            raise ApiError(404, "Folder not found")
        return rec

    def recording(self, user: UserRec, rid: str) -> RecRec:
        rec = self.recordings.get(rid)
        if rec is None or rec.user_id != user.id:
            raise ApiError(404, "Recording not found")
        self.refresh(rec)
        return rec

    def calibration(self, user: UserRec, cid: str) -> CalRec:
        rec = self.calibrations.get(cid)
        if rec is None or rec.user_id != user.id:
            raise ApiError(404, "Calibration not found")
        self.refresh_calibration(rec)
        return rec

    # -- time-based transitions -------------------------------------------------------------

    def refresh(self, rec: RecRec) -> Recording:
        ready_at = rec.ready_at
        if ready_at is not None and self.clock() >= ready_at:
            rec.ready_at = None
            model = rec.model
            user = self.users[rec.user_id]
            user.pending.discard(model.id)
            if rec.outcome_error is not None:
                model.state = RecordingState.ERROR
                model.error = rec.outcome_error
                if rec.charged:
                    user.credits += rec.charged
                    self.counters.credits_spent -= rec.charged
                    rec.charged = 0.0
            else:
                model.state = RecordingState.DONE
                model.error = None
                if model.type == RecordingType.CONVERTED:
                    model.converted_at = utc(ready_at)
                    model.url = self.file_url(model.id, model.file_name or "audio.wav")
                    model.waveform_url = self.file_url(model.id, "waveform.json")
            if rec.order is not None:
                rec.order.state = OrderState.ERROR if rec.outcome_error else OrderState.DONE
                rec.order.error = rec.outcome_error
                rec.order.closed_at = utc(ready_at)
        return rec.model

    def refresh_calibration(self, rec: CalRec) -> Calibration:
        ready_at = rec.ready_at
        if ready_at is not None and self.clock() >= ready_at:
            rec.ready_at = None
            if rec.outcome_error is not None:
                rec.model.state = CalibrationState.ERROR
                rec.model.error = rec.outcome_error
            else:
                rec.model.state = CalibrationState.CALIBRATED
                rec.model.f0 = rec.f0
                rec.model.calibrated_at = utc(ready_at)
        return rec.model

    def settle(self, user: UserRec) -> None:
        """Apply every due transition of the user's pending work (credits and stats read this)."""
        for rid in list(user.pending):
            rec = self.recordings.get(rid)
            if rec is None:
                user.pending.discard(rid)
            else:
                self.refresh(rec)

    # -- library ------------------------------------------------------------------------------

    def file_url(self, rid: str, file_name: str) -> str:
        return f"/api/files/{rid}/{quote(file_name)}"

    def add_recording(self, rec: RecRec, folder: FolderRec) -> None:
        model = rec.model
        self.recordings[model.id] = rec
        folder.recordings[model.id] = None
        project = self.projects[folder.model.project_id]
        project.recordings[model.id] = None
        project.model.last_recording_at = model.created_at
        if model.type == RecordingType.ORIGINAL:
            folder.originals[model.id] = None
        if rec.ready_at is not None:
            self.users[rec.user_id].pending.add(model.id)

    def delete_recording(self, rec: RecRec) -> list[str]:
        """Delete a recording (an original takes its conversions along); the ids deleted."""
        model = rec.model
        deleted = [model.id]
        for cid in list(rec.conversions):
            conv = self.recordings.get(cid)
            if conv is not None:
                deleted += self.delete_recording(conv)
        self.recordings.pop(model.id, None)
        user = self.users[rec.user_id]
        user.pending.discard(model.id)
        user.conversions.pop(model.id, None)
        if model.parent_folder_id and (folder := self.folders.get(model.parent_folder_id)):
            folder.recordings.pop(model.id, None)
            folder.originals.pop(model.id, None)
        if project := self.projects.get(model.project_id):
            project.recordings.pop(model.id, None)
        if model.original_id and (original := self.recordings.get(model.original_id)):
            original.conversions.pop(model.id, None)
        self.forget_data(rec)
        for path in (rec.path, self.path_for(f"{model.id}.waveform.json")):
            if path:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        return deleted

    def keep_data(self, rec: RecRec, data: bytes) -> bool:
        """Keep a small upload in memory if the budget allows (``False``: write it to disk)."""
        if self.kept_bytes + len(data) > MEMORY_BUDGET:
            return False
        rec.data = data
        self.kept_bytes += len(data)
        return True

    def forget_data(self, rec: RecRec) -> None:
        if rec.data is not None:
            self.kept_bytes -= len(rec.data)
            rec.data = None

    def delete_folder(self, folder: FolderRec) -> list[str]:
        deleted = [folder.model.id]
        for rid in list(folder.originals) + list(folder.recordings):
            rec = self.recordings.get(rid)
            if rec is not None:
                deleted += self.delete_recording(rec)
        self.folders.pop(folder.model.id, None)
        if project := self.projects.get(folder.model.project_id):
            project.folders.pop(folder.model.id, None)
        return deleted

    def delete_project(self, project: ProjectRec) -> None:
        for fid in list(project.folders):
            folder = self.folders.get(fid)
            if folder is not None:
                self.delete_folder(folder)
        for rid in list(project.recordings):
            rec = self.recordings.get(rid)
            if rec is not None:
                self.delete_recording(rec)
        self.projects.pop(project.model.id, None)
        self.users[project.user_id].projects.pop(project.model.id, None)


def page_of(ids: dict[str, None], limit: int, offset: int, descending: bool) -> Iterator[str]:
    """A page of an insertion-ordered index without copying it."""
    source: Iterable[str] = reversed(ids) if descending else iter(ids)
    return islice(source, offset, offset + limit)

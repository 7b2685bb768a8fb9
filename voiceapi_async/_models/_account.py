"""Users, sessions, API keys, credits and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from ._base import Model

__all__ = [
    "ApiKey",
    "ConversionStats",
    "CreditBalance",
    "FolderStats",
    "Group",
    "LoginResponse",
    "ModelStats",
    "MonthDuration",
    "OkResponse",
    "ProjectStats",
    "RateLimit",
    "StatsDuration",
    "StatsDurationWithHistory",
    "User",
    "UserData",
    "UserRateLimits",
    "UserStats",
]


class RateLimit(Model):
    """At most ``times`` requests per ``seconds``."""

    times: int
    seconds: float


class UserRateLimits(Model):
    fast: RateLimit
    slow: RateLimit


class UserData(Model):
    rate_limits: UserRateLimits | None = None
    credit_limit: bool | None = None
    bucket: str | None = None
    permissions: dict[str, Any] | None = None


class Group(Model):
    id: str
    name: str


class User(Model):
    id: str
    email: str
    verified: bool = False
    username: str = ""
    first_name: str | None = None
    last_name: str | None = None
    roles: list[str] = msgspec.field(default_factory=list)
    groups: list[Group] = msgspec.field(default_factory=list)
    data: UserData | None = None


class LoginResponse(Model):
    """The user and the CSRF token to send as ``X-Csrf-Token`` (hidden from ``repr``)."""

    user: User
    csrf_token: str = msgspec.field(default="")

    def __repr__(self) -> str:
        return f"LoginResponse(user={self.user!r}, csrf_token='***')"


class ApiKey(Model):
    """A newly generated API key.  Its value is shown once: store it safely."""

    api_key: str

    def __repr__(self) -> str:
        return "ApiKey(api_key='***')"


class CreditBalance(Model):
    """``GET /api/credits``: what is left of the account's credits, and what it started with."""

    credits: float
    initial_credits: float


class ConversionStats(Model):
    total: int = 0
    completed: int = 0
    in_progress: int = 0
    failed: int = 0


class MonthDuration(Model):
    month: dt.date
    duration: float


class StatsDuration(Model):
    total: float = 0
    current_month: float = 0


class StatsDurationWithHistory(Model):
    total: float = 0
    current_month: float = 0
    previous_monthes: list[MonthDuration] = msgspec.field(default_factory=list)


class ModelStats(Model):
    id: str
    name: str
    conversions_count: int = 0
    converted_time: float = 0


class UserStats(Model):
    time_converted: StatsDurationWithHistory
    conversions: ConversionStats
    models: list[ModelStats] = msgspec.field(default_factory=list)


class ProjectStats(Model):
    project_id: str
    time_converted: StatsDuration
    conversions: ConversionStats


class FolderStats(Model):
    folder_id: str
    stats: ConversionStats


class OkResponse(Model):
    """The API's plain acknowledgement (``{"detail": "OK"}``); extra fields are ignored."""

    detail: str = "OK"

"""Users, sessions, API keys, credits and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from ._base import Model
from ._enums import TrustLevel

__all__ = [
    "AdvancedSettings",
    "ApiKey",
    "CalibrationUserData",
    "ConversionStats",
    "CreditBalance",
    "DemoWizard",
    "FolderStats",
    "Group",
    "LoginResponse",
    "MarketingInfo",
    "ModelStats",
    "MonthDuration",
    "OkResponse",
    "OpenIDInfo",
    "ProjectStats",
    "PromoData",
    "RateLimit",
    "StatsDuration",
    "StatsDurationWithHistory",
    "StripeInfo",
    "User",
    "UserData",
    "UserDomainInfo",
    "UserPermissions",
    "UserRateLimits",
    "UserStats",
]


class RateLimit(Model):
    """At most ``times`` requests per ``seconds``."""

    times: int
    seconds: float


#: The documented per-account limits, used for a bucket the server leaves out.
_DEFAULT_FAST = RateLimit(times=500, seconds=300)
_DEFAULT_SLOW = RateLimit(times=100, seconds=300)


def _default_fast() -> RateLimit:
    return RateLimit(times=_DEFAULT_FAST.times, seconds=_DEFAULT_FAST.seconds)


def _default_slow() -> RateLimit:
    return RateLimit(times=_DEFAULT_SLOW.times, seconds=_DEFAULT_SLOW.seconds)


class UserRateLimits(Model):
    """The account's ``fast`` and ``slow`` buckets; a missing one is the documented default
    (fast 500 per 300 s, slow 100 per 300 s)."""

    fast: RateLimit = msgspec.field(default_factory=_default_fast)
    slow: RateLimit = msgspec.field(default_factory=_default_slow)


class StripeInfo(Model):
    customer_id: str | None = None
    price_id: str | None = None
    subscription_status: str | None = None
    subscription_interval: str | None = None
    subscription_active: bool | None = None
    trial: bool | None = None
    trial_used: bool | None = None
    subscription_id: str | None = None
    trial_subscription_id: str | None = None
    current_period_end: int | None = None
    payed_once: bool | None = None


class CalibrationUserData(Model):
    """The account's enabled calibration (absent: automatic calibration)."""

    calibration_id: str
    f0: float


class PromoData(Model):
    code: str | None = None
    extended_trial: bool | None = None
    no_credit: bool | None = None
    stripe_promo_code: str | None = None
    stripe_promo_codes_used: dict[str, str] | None = None
    default_coupon_used: bool | None = False


class UserDomainInfo(Model):
    profession: str
    industry: str


class UserPermissions(Model):
    long_conversions: bool | None = False
    download: bool | None = False
    can_read: bool | None = True
    can_write: bool | None = False
    access_level: str | None = None


class OpenIDInfo(Model):
    sub: str
    provider: str


class DemoWizard(Model):
    show: bool
    skipped: bool | None = False
    completed: bool | None = False
    converting: bool | None = False
    project_id: str | None = None
    folder_id: str | None = None
    original_id: str | None = None


class MarketingInfo(Model):
    google_id: str | None = None


class AdvancedSettings(Model):
    normalize: bool | None = None
    denormalize: bool | None = None
    denoise: bool | None = None
    hft: bool | None = None
    pipeline: str | None = None
    emotional_scale: float | None = None


class UserData(Model):
    """The account's settings: every field is optional (absent or ``null``).

    ``calibration`` is the enabled calibration, ``t_level`` the trust level
    (``gray``/``red``/``orange``/``green``), ``rate_limits`` the account's own limits.
    """

    stripe: StripeInfo | None = None
    calibration: CalibrationUserData | None = None
    bucket: str | None = None
    promo: PromoData | None = None
    t_level: TrustLevel | None = None
    domain_info: UserDomainInfo | None = None
    model_scope: dict[str, bool] | None = None
    credit_limit: bool | None = False
    moderate_originals: bool | None = True
    run_moderation_in_parallel: bool | None = False
    rate_limits: UserRateLimits | None = None
    permissions: UserPermissions | None = None
    open_id: OpenIDInfo | None = None
    local_storage: dict[str, Any] | None = None
    demo_wizard: DemoWizard | None = None
    experimental: bool | None = False
    marketing: MarketingInfo | None = None
    advanced_settings: AdvancedSettings | None = None


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
    """The API's plain acknowledgement (``{"detail": "OK"}``); extra fields are ignored.

    Servers also acknowledge with an empty body (or 204), ``null`` or ``true``: the SDK
    returns ``OkResponse()`` for those.
    """

    detail: str | None = "OK"

"""Shared request/response helpers: FastAPI-shaped errors, query parameters, JSON bodies.

Handlers raise ``ApiError`` (``{"detail": "..."}``) or ``Invalid`` (422 with a list of
``{loc, msg, type}``); the dispatcher turns them into responses.  Every response body
is encoded from the shared ``voiceapi_async._models`` types with one module-level encoder.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TypeVar

import msgspec
import msgspec.inspect as mi
from aiohttp import web
from multidict import CIMultiDict

from voiceapi_async._models import ErrorBody, OpenEnum, ValidationErrorItem

from ._required import REQUIRED

__all__ = [
    "ANSWER_MODE",
    "AnswerMode",
    "ApiError",
    "Invalid",
    "decode_body",
    "enum_list_param",
    "enum_param",
    "json_response",
    "page_params",
    "require_uuid",
    "validate_label",
]

T = TypeVar("T")
E = TypeVar("E", bound=OpenEnum)

ENCODER = msgspec.json.Encoder()
_JSON_HEADERS = {"Content-Type": "application/json"}
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
LABEL_RE = re.compile(r"^[a-zA-Z0-9 -]+$")
_PATH_RE = re.compile(r"`\$((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*)`")
_MISSING_RE = re.compile(r"missing required field `([^`]+)`")
_PART_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")

Loc = list[str | int]


class ApiError(Exception):
    """An error answer ``{"detail": detail}``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


class Invalid(Exception):
    """A 422 answer listing every problem found, as FastAPI does."""

    def __init__(self, items: list[ValidationErrorItem]) -> None:
        super().__init__(items)
        self.items = items

    @classmethod
    def one(cls, loc: Loc, msg: str, type_: str) -> Invalid:
        return cls([ValidationErrorItem(loc=loc, msg=msg, type=type_)])


_LEAVES = frozenset((str, int, float, bool, type(None), dt.datetime, dt.date))
#: Per model: the fields whose type may hold a struct, list or dict (the others are sent as they are).
_NESTED: dict[type, tuple[str, ...]] = {}
_FLAT_TYPES = (
    mi.NoneType,
    mi.BoolType,
    mi.IntType,
    mi.FloatType,
    mi.StrType,
    mi.DateTimeType,
    mi.DateType,
    mi.EnumType,
    mi.LiteralType,
)


def _flat(info: mi.Type) -> bool:
    if isinstance(info, mi.UnionType):
        return all(_flat(t) for t in info.types)
    return isinstance(info, _FLAT_TYPES)


def _nested_fields(t: type[msgspec.Struct]) -> tuple[str, ...]:
    info = mi.type_info(t)
    assert isinstance(info, mi.StructType)
    _NESTED[t] = names = tuple(f.name for f in info.fields if not _flat(f.type))
    return names


def full(obj: Any) -> Any:
    """``obj`` as builtins with every field, defaults and nulls included.

    The shared models omit default values when encoded (right for request bodies); a
    FastAPI service sends every field of a response, so the emulator does too.
    ``msgspec.structs.asdict`` copies every field at C speed; only fields that may hold
    another model (known per type from its annotations) are walked in Python.
    """
    t = type(obj)
    nested = _NESTED.get(t)
    if nested is None:
        if isinstance(obj, msgspec.Struct):
            nested = _nested_fields(t)
        elif t is list:
            return [x if type(x) in _LEAVES else full(x) for x in obj]
        elif t is dict:
            return {k: v if type(v) in _LEAVES else full(v) for k, v in obj.items()}
        else:
            return obj
    out = msgspec.structs.asdict(obj)
    for name in nested:
        v = out[name]
        if type(v) not in _LEAVES:
            out[name] = full(v)
    return out


AnswerMode = Literal["full", "null", "omit"]
#: How the answer being built treats unset optional fields; set per request by the dispatcher.
ANSWER_MODE: contextvars.ContextVar[AnswerMode] = contextvars.ContextVar("emulator_answer_mode", default="full")
_KEEP = object()  # a required field: always sent as it is
_NO_DEFAULT = object()  # an optional field without a default: unset only when ``None``
#: Per model: (field name, the value meaning "unset", or ``_KEEP`` for a required field).
_PLANS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _plan(t: type[msgspec.Struct]) -> tuple[tuple[str, Any], ...]:
    """Which fields of ``t`` are optional (from the OpenAPI, see ``_required``) and their unset value."""
    required = REQUIRED.get(t.__name__)
    plan = []
    for f in msgspec.structs.fields(t):
        if required is None or f.name in required:
            plan.append((f.name, _KEEP))
        elif f.default_factory is not msgspec.NODEFAULT:
            plan.append((f.name, f.default_factory()))
        else:
            plan.append((f.name, f.default if f.default is not msgspec.NODEFAULT else _NO_DEFAULT))
    _PLANS[t] = result = tuple(plan)
    return result


def shaped(obj: Any, omit: bool) -> Any:
    """Like ``full``, but optional fields left unset (``None`` or their default) are ``null`` or left out.

    Optional means "not in the OpenAPI's ``required`` list of the model's schema": what
    another legal server (FastAPI sends unset optionals as ``null``; others omit them)
    may answer.  Required fields and set values are always sent.
    """
    t = type(obj)
    if t is list:
        return [x if type(x) in _LEAVES else shaped(x, omit) for x in obj]
    if t is dict:
        return {k: v if type(v) in _LEAVES else shaped(v, omit) for k, v in obj.items()}
    if not isinstance(obj, msgspec.Struct):
        return obj
    out: dict[str, Any] = {}
    for name, unset in _PLANS.get(t) or _plan(t):
        v = getattr(obj, name)
        if unset is not _KEEP and (v is None or v == unset):
            if not omit:
                out[name] = None
            continue
        out[name] = v if type(v) in _LEAVES else shaped(v, omit)
    return out


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    hdrs = CIMultiDict(_JSON_HEADERS)
    if headers:
        hdrs.update(headers)
    mode = ANSWER_MODE.get()
    body = full(obj) if mode == "full" else shaped(obj, mode == "omit")
    return web.Response(body=ENCODER.encode(body), status=status, headers=hdrs)


def error_response(status: int, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    return json_response(ErrorBody(detail=detail), status, headers)


def missing(loc: Loc) -> ValidationErrorItem:
    return ValidationErrorItem(loc=loc, msg="field required", type="value_error.missing")


def _int_param(
    query: Any, name: str, default: int, ge: int | None, le: int | None, errors: list[ValidationErrorItem]
) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.append(
            ValidationErrorItem(loc=["query", name], msg="value is not a valid integer", type="type_error.integer")
        )
        return default
    if ge is not None and value < ge:
        errors.append(
            ValidationErrorItem(
                loc=["query", name],
                msg=f"ensure this value is greater than or equal to {ge}",
                type="value_error.number.not_ge",
            )
        )
    elif le is not None and value > le:
        errors.append(
            ValidationErrorItem(
                loc=["query", name],
                msg=f"ensure this value is less than or equal to {le}",
                type="value_error.number.not_le",
            )
        )
    return value


def _enum_error(name: str, enum: type[OpenEnum]) -> ValidationErrorItem:
    permitted = ", ".join(f"'{m.value}'" for m in enum)
    return ValidationErrorItem(
        loc=["query", name],
        msg=f"value is not a valid enumeration member; permitted: {permitted}",
        type="type_error.enum",
    )


def enum_param(query: Any, name: str, enum: type[E], default: E | None, errors: list[ValidationErrorItem]) -> E | None:
    """A closed enum query parameter: unknown values are a 422 (the emulator is the strict side)."""
    raw = query.get(name)
    if raw is None:
        return default
    if raw not in enum.__members__.values():
        errors.append(_enum_error(name, enum))
        return default
    return enum(raw)


def enum_list_param(query: Any, name: str, enum: type[E], errors: list[ValidationErrorItem]) -> set[str]:
    """A repeatable filter (``?gender=male&gender=female``) validated against ``enum``."""
    values = set(query.getall(name, ()))
    known = {m.value for m in enum}
    if values - known:
        errors.append(_enum_error(name, enum))
    return values


def page_params(
    query: Any, errors: list[ValidationErrorItem], max_limit: int, default_limit: int = 50
) -> tuple[int, int]:
    """``limit`` (0..max) and ``offset`` (>= 0), appending 422 items to ``errors``."""
    limit = _int_param(query, "limit", default_limit, 0, max_limit, errors)
    offset = _int_param(query, "offset", 0, 0, None, errors)
    return limit, offset


def raise_if(errors: list[ValidationErrorItem]) -> None:
    if errors:
        raise Invalid(errors)


def check_uuid(value: str | None, loc: Loc, errors: list[ValidationErrorItem]) -> None:
    if value is None:
        errors.append(missing(loc))
    elif not UUID_RE.match(value):
        errors.append(ValidationErrorItem(loc=loc, msg="value is not a valid uuid", type="type_error.uuid"))


def require_uuid(value: str | None, loc: Loc) -> str:
    errors: list[ValidationErrorItem] = []
    check_uuid(value, loc, errors)
    raise_if(errors)
    assert value is not None
    return value


def check_text(
    value: str | None, loc: Loc, errors: list[ValidationErrorItem], *, min_len: int = 0, max_len: int | None = None
) -> None:
    if value is None:
        return
    if len(value) < min_len:
        errors.append(
            ValidationErrorItem(
                loc=loc,
                msg=f"ensure this value has at least {min_len} characters",
                type="value_error.any_str.min_length",
            )
        )
    elif max_len is not None and len(value) > max_len:
        errors.append(
            ValidationErrorItem(
                loc=loc,
                msg=f"ensure this value has at most {max_len} characters",
                type="value_error.any_str.max_length",
            )
        )


def validate_label(value: str | None, loc: Loc, errors: list[ValidationErrorItem]) -> None:
    """Labels and calibration names: at most 40 characters of ``[a-zA-Z0-9 -]``."""
    if value is None:
        return
    before = len(errors)
    check_text(value, loc, errors, max_len=40)
    if len(errors) == before and not LABEL_RE.match(value):
        errors.append(
            ValidationErrorItem(
                loc=loc, msg='string does not match regex "^[a-zA-Z0-9 -]+$"', type="value_error.str.regex"
            )
        )


def _loc_from_msgspec(message: str) -> Loc:
    loc: Loc = ["body"]
    m = _PATH_RE.search(message)
    if m:
        for name, index in _PART_RE.findall(m.group(1)):
            loc.append(int(index) if index else name)
    field = _MISSING_RE.search(message)
    if field:
        loc.append(field.group(1))
    return loc


async def decode_body(request: web.Request, type_: type[T], *, allow_empty: bool = False) -> T | None:
    """Strictly decode a JSON body into a shared model; errors become FastAPI-style 422s."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return None
        raise Invalid([missing(["body"])])
    try:
        return msgspec.json.decode(raw, type=type_, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        kind = "value_error.missing" if "missing required field" in message else "type_error"
        msg = "field required" if kind == "value_error.missing" else message.split(" - at ")[0]
        raise Invalid.one(_loc_from_msgspec(message), msg, kind) from None
    except msgspec.DecodeError as exc:
        raise Invalid.one(["body", 0], f"JSON decode error: {exc}", "value_error.jsondecode") from None


def ids_from(values: Iterable[str]) -> list[str]:
    return [v for v in values if v]


def bool_param(query: Any, name: str, errors: list[ValidationErrorItem]) -> bool:
    raw = query.get(name)
    if raw is None:
        return False
    low = raw.lower()
    if low in ("true", "1", "yes", "on"):
        return True
    if low in ("false", "0", "no", "off", ""):
        return False
    errors.append(
        ValidationErrorItem(loc=["query", name], msg="value could not be parsed to a boolean", type="type_error.bool")
    )
    return False


def paginate(items: Sequence[T], limit: int, offset: int) -> list[T]:
    return list(items[offset : offset + limit])

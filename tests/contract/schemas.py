"""Hypothesis strategies for the instances of an OpenAPI 3.0 schema, in five shapes.

Why not ``hypothesis-jsonschema``: its last release (0.23.1, 2024) does not run with
today's Hypothesis (6.170): every object schema fails in ``from_object_schema`` with
``AttributeError: 'many' object has no attribute 'more'`` (it drives Hypothesis'
private ``conjecture.utils.many``, since changed).  So this small translator builds the
strategies from Hypothesis' public, well-kept ones; it covers what the vendor's OpenAPI
uses: ``$ref``, ``allOf``/``anyOf``, objects (``properties``, ``required``,
``additionalProperties``), arrays, strings (``enum``, ``format``, ``pattern``, lengths),
integers and numbers (bounds), booleans, ``nullable`` and free-form values.

The shapes (``Mode``), applied at every depth:

- ``all``: every property present;
- ``required``: the required properties only;
- ``nulls``: every property present, each optional one ``null`` (FastAPI sends unset
  optional fields as ``null``);
- ``random``: schema-valid: each optional property present or absent, unknown extra
  properties (the schemas allow them);
- ``lenient``: each optional property present, absent or ``null``, unknown extra
  properties, and enum values the SDK does not know yet.

Integers stay within +-2**53 (I-JSON, RFC 7493: what every JSON stack exchanges exactly).
Date-times come with and without fractions, with ``Z``, an offset, or none (FastAPI's
rendering of a naive datetime).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

Mode = Literal["all", "required", "nulls", "random", "lenient"]
MODES: tuple[Mode, ...] = ("all", "required", "nulls", "random", "lenient")
Schema = dict[str, Any]

INT_BOUND = 2**53
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=10))
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_OFFSETS = ("Z", "+00:00", "+02:00", "-05:30", "")


@st.composite
def datetime_strings(draw: st.DrawFn) -> str:
    """RFC 3339 date-times with or without fractions and offsets (and FastAPI's naive ones)."""
    value = draw(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1)))
    digits = draw(st.sampled_from((0, 1, 3, 6)))
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{value.microsecond:06d}"[:digits]
    return text + draw(st.sampled_from(_OFFSETS))


_FORMATS: dict[str, st.SearchStrategy[str]] = {
    "date-time": datetime_strings(),
    "date": st.dates(dt.date(1970, 1, 1), dt.date(2100, 1, 1)).map(dt.date.isoformat),
    "uuid": st.uuids().map(str),
    "uuid4": st.uuids(version=4).map(str),
    "email": st.emails(),
}


def reproducible(max_examples: int) -> settings:
    """Hypothesis settings for CI: derandomized, no example database, no deadline."""
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=list(HealthCheck),
    )


class Resolver:
    """Resolves ``#/components/...`` references of one OpenAPI document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, schema: Schema) -> Schema:
        """``schema`` with its top-level ``$ref`` followed and a lone ``allOf`` merged."""
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local references are supported, not {ref}")
            target: Any = self.document
            for part in ref[2:].split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if "allOf" in schema:
            merged: Schema = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged.setdefault("properties", {}).update(part.get("properties", {}))
                merged["required"] = [*merged.get("required", []), *part.get("required", [])]
                merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
            if not merged.get("properties"):
                merged.pop("properties", None)
            schema = merged
        return schema


def strategy(resolver: Resolver, schema: Schema, mode: Mode, *, unknown: bool = True) -> st.SearchStrategy[Any]:
    """The instances of ``schema`` in the shape ``mode`` (see the module docstring).

    ``unknown=False`` leaves out unknown extra properties (for request bodies, which the
    SDK builds from its own fields only).
    """
    schema = resolver.resolve(schema)
    base = _strategy(resolver, schema, mode, unknown)
    return st.none() | base if schema.get("nullable") and mode in ("random", "lenient") else base


def _strategy(resolver: Resolver, schema: Schema, mode: Mode, unknown: bool) -> st.SearchStrategy[Any]:
    if "anyOf" in schema or "oneOf" in schema:
        return st.one_of(
            [strategy(resolver, s, mode, unknown=unknown) for s in schema.get("anyOf", schema.get("oneOf"))]
        )
    if "enum" in schema:
        known = st.sampled_from(schema["enum"])
        unknown = st.from_regex(r"[a-z][a-z_]{2,11}", fullmatch=True).filter(lambda v: v not in schema["enum"])
        return known | unknown if mode == "lenient" else known
    kind = schema.get("type")
    if kind is None:
        kind = "object" if "properties" in schema else None
    if kind == "object":
        return _object(resolver, schema, mode, unknown)
    if kind == "array":
        shaped = mode in ("all", "required", "nulls")  # exercise the items' shape
        low = max(schema.get("minItems", 0), 1 if shaped else 0)
        high = min(schema.get("maxItems", 3), max(low, 3))
        items = strategy(resolver, schema.get("items", {}), mode, unknown=unknown)
        return st.lists(items, min_size=low, max_size=high)
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return st.integers(*_bounds(schema, integer=True))
    if kind == "number":
        low, high = _bounds(schema, integer=False)
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
        return st.integers(math.ceil(low), math.floor(high)) | floats
    if kind == "boolean":
        return st.booleans()
    return JSON_VALUES  # a free-form value: ``{}``


def _object(resolver: Resolver, schema: Schema, mode: Mode, unknown: bool) -> st.SearchStrategy[Any]:
    properties: dict[str, Schema] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    if not properties:
        values = strategy(resolver, extra, mode, unknown=unknown) if isinstance(extra, dict) else JSON_VALUES
        return st.dictionaries(st.text(max_size=8), values, max_size=3)
    required = set(schema.get("required", ()))
    fixed: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for name, prop in properties.items():
        value = strategy(resolver, prop, mode, unknown=unknown)
        if name in required or mode == "all":
            fixed[name] = value
        elif mode == "nulls":
            fixed[name] = st.none()
        elif mode == "random":
            optional[name] = value
        elif mode == "lenient":
            optional[name] = st.none() | value
    objects = st.fixed_dictionaries(fixed, optional=optional)
    if mode not in ("random", "lenient") or extra is False or not unknown:
        return objects
    unknown = st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True), JSON_VALUES, max_size=2)
    return st.tuples(objects, unknown).map(lambda pair: {**{k: v for k, v in pair[1].items()}, **pair[0]})


def _string(schema: Schema) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    fmt = schema.get("format")
    if "pattern" in schema:
        base = st.from_regex(schema["pattern"], fullmatch=True)
    elif fmt in _FORMATS:
        base = _FORMATS[fmt]
    else:
        return st.text(min_size=low, max_size=min(high, 40) if high is not None else 40)
    return base.filter(lambda s: low <= len(s) and (high is None or len(s) <= high))


def _bounds(schema: Schema, *, integer: bool) -> tuple[Any, Any]:
    low = schema.get("minimum", -INT_BOUND)
    high = schema.get("maximum", INT_BOUND)
    if integer:
        return math.ceil(low), math.floor(high)
    return low, high

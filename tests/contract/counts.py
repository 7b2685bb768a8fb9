"""How many generated answers and request bodies the contract suite checked, per category."""

from __future__ import annotations

from collections import Counter

DECODED: Counter[str] = Counter()
"""Answers decoded, per shape (``all``, ``required``, ``nulls``, ``random``, ``lenient``)."""

ERRORS: Counter[str] = Counter()
"""Error bodies (``ErrorResponse``, ``HTTPValidationError``) decoded, per shape."""

REQUESTS: Counter[str] = Counter()
"""Request-side checks: bodies encoded and validated, values checked against constraints."""


def summary() -> list[str]:
    lines = []
    if DECODED:
        shapes = ", ".join(f"{k} {v}" for k, v in sorted(DECODED.items()))
        lines.append(f"contract: {sum(DECODED.values())} generated answers decoded, 0 failures ({shapes})")
    if ERRORS:
        shapes = ", ".join(f"{k} {v}" for k, v in sorted(ERRORS.items()))
        lines.append(f"contract: {sum(ERRORS.values())} generated error bodies decoded, 0 failures ({shapes})")
    if REQUESTS:
        checks = ", ".join(f"{k} {v}" for k, v in sorted(REQUESTS.items()))
        lines.append(f"contract: {sum(REQUESTS.values())} request-side checks ({checks})")
    return lines

"""Base classes shared by every model.

Responses decode leniently (unknown fields are ignored, unknown enum values are
kept as new members) so that a server adding a field or a state never breaks a
deployed client.  Request bodies encode without their unset fields.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

__all__ = ["Model", "OpenEnum"]


class Model(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A typed API object: a plain declaration, decoded straight from bytes."""

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-compatible builtins (what the server sent or will get)."""
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]


class OpenEnum(str, enum.Enum):
    """A string enum that accepts values the server adds later.

    An unknown value becomes a new, unnamed-in-code member instead of a decode
    error, so ``recording.state == "postprocessing"`` keeps working and callers
    can treat what they do not know as "still in progress".
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_known(self) -> bool:
        """False for a value this version of the SDK does not know."""
        return self._name_ in type(self).__members__

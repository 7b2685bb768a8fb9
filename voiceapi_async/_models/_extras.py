"""Models of the operations the OpenAPI has and the endpoint reference lacks.

(Narration-style samples, calibration rename, the health check.)
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Model

__all__ = ["CalibrationRename", "Health", "NarrationStyleSamples"]


class NarrationStyleSamples(Model):
    """``GET /api/v2/narration-styles/samples``: sample name -> audio URL (or richer objects)."""

    samples: dict[str, Any] | None = msgspec.field(default_factory=dict)


class CalibrationRename(Model):
    """``PATCH /api/calibration/{id}``: the new name (at most 40 characters)."""

    name: str


class Health(Model):
    """``GET /api/healtz``: the service's own word on its state (``OK`` schema: ``{"state": ...}``)."""

    state: str | None = "OK"

    @property
    def ok(self) -> bool:
        """The service says it is fine: ``state`` is ``OK``, or unset (absent or ``null``: the default, ``OK``)."""
        return self.state is None or self.state.upper() == "OK"

"""Route handlers, one module per resource group; ``ALL_ROUTES`` is registered in this order."""

from __future__ import annotations

from .._routes import Route
from . import _auth, _calibrations, _orders, _projects, _recordings, _voices
from ._admin import admin_routes

__all__ = ["ALL_ROUTES", "admin_routes"]

ALL_ROUTES: list[Route] = [
    *_auth.ROUTES,
    *_calibrations.ROUTES,
    *_projects.ROUTES,
    *_recordings.ROUTES,
    *_orders.ROUTES,
    *_voices.ROUTES,
]

"""Orders (conversions), text-to-speech, and statistics."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TypeVar

from .._errors import APIStatusError, InvalidRequestError
from .._models import (
    ConversionTarget,
    FolderStats,
    Model,
    Order,
    OrderRequest,
    ProjectStats,
    Recording,
    StatsFolderRequest,
    StatsProjectRequest,
    TTSCreateV1,
    TTSCreateV2,
    TTSVoice,
    UserStats,
)
from .._validation import check_id, check_ids, check_label, check_text
from ._base import Resource

__all__ = ["TTS", "Orders", "Stats"]

MAX_CONVERSIONS_PER_ORDER = 200
T = TypeVar("T")


class Orders(Resource):
    async def create(
        self,
        original_id: str,
        conversions: Sequence[ConversionTarget],
        *,
        calibration_id: str | None = None,
        use_calibration: bool | None = None,
    ) -> list[Order]:
        """``POST /api/v2/orders``: one order per conversion, each creating a converted recording.

        A ``calibration_id`` given without ``use_calibration`` sends ``use_calibration=true``:
        the API ignores the id otherwise (and uses the account's enabled calibration).
        Pass ``use_calibration=False`` explicitly to keep that behaviour.

        Not retried once the request may have reached the server (it spends credits):
        on ``APIConnectionError(request_sent=True)`` list the original's conversions
        before ordering again.
        """
        targets = list(conversions)
        if not targets:
            raise InvalidRequestError("an order needs at least one ConversionTarget")
        if len(targets) > MAX_CONVERSIONS_PER_ORDER:
            raise InvalidRequestError(f"an order takes at most {MAX_CONVERSIONS_PER_ORDER} conversions")
        for i, target in enumerate(targets):
            if not isinstance(target, ConversionTarget):
                raise InvalidRequestError(f"conversions[{i}] must be a ConversionTarget, not {type(target).__name__}")
            check_id(target.voice_id, field=f"conversions[{i}].voice_id")
            for name in ("accent_id", "narration_style_id"):
                if getattr(target, name) is not None:
                    check_id(getattr(target, name), field=f"conversions[{i}].{name}")
            check_label(target.label, field=f"conversions[{i}].label")
        if use_calibration and calibration_id is None:
            raise InvalidRequestError("use_calibration=True needs a calibration_id")
        if calibration_id and use_calibration is None:
            use_calibration = True  # without it the API ignores the id and uses the enabled calibration
        body = OrderRequest(
            original_id=check_id(original_id, field="original_id"),
            conversions=targets,
            calibration_id=check_id(calibration_id, field="calibration_id") if calibration_id else None,
            use_calibration=use_calibration,
        )
        return await self._client._request(
            "POST", "/api/v2/orders", list[Order], json=body, bucket="slow", idempotent=False
        )

    async def retry(self, recording_id: str) -> Order:
        """``POST /api/v2/orders/retry/{id}``: run an errored conversion again."""
        path = f"/api/v2/orders/retry/{check_id(recording_id, field='recording_id')}"
        return await self._client._request("POST", path, Order, bucket="slow", idempotent=False)


class TTS(Resource):
    async def voices(self) -> list[TTSVoice]:
        """``GET /api/tts-voices``: the text-to-speech voices available to you."""
        return await self._client._request("GET", "/api/tts-voices", list[TTSVoice])

    async def create(
        self,
        folder_id: str,
        text: str,
        *,
        label: str | None = None,
        text_language: str | None = None,
        tts_voice_id: str | None = None,
    ) -> Recording:
        """``POST /api/v2/recordings/tts``: a text-to-speech original (1 to 1000 characters)."""
        body = TTSCreateV2(
            parent_folder_id=check_id(folder_id, field="folder_id"),
            text=check_text(text),
            text_language=text_language,
            label=check_label(label),
            tts_voice_id=check_id(tts_voice_id, field="tts_voice_id") if tts_voice_id else None,
        )
        return await self._client._request(
            "POST", "/api/v2/recordings/tts", Recording, json=body, bucket="slow", idempotent=False
        )

    async def create_v1(
        self, project_id: str, folder_id: str, voice_id: str, text: str, *, label: str | None = None
    ) -> Recording:
        """``POST /api/recordings/tts`` — deprecated by the API: use ``create`` (v2)."""
        warnings.warn(
            "POST /api/recordings/tts is deprecated by the API; use client.tts.create() (v2)",
            DeprecationWarning,
            stacklevel=2,
        )
        body = TTSCreateV1(
            project_id=check_id(project_id, field="project_id"),
            parent_folder_id=check_id(folder_id, field="folder_id"),
            voice_id=check_id(voice_id, field="voice_id"),
            text=check_text(text),
            label=check_label(label),
        )
        return await self._client._request(
            "POST", "/api/recordings/tts", Recording, json=body, bucket="slow", idempotent=False
        )


class Stats(Resource):
    async def get(self) -> UserStats:
        """``GET /api/stats``: the account's conversion statistics."""
        return await self._client._request("GET", "/api/stats", UserStats)

    async def projects(self, project_ids: Iterable[str]) -> list[ProjectStats]:
        """``GET /api/stats/projects`` with ``{"project_ids": [...]}`` (at most 200; POST after a 405)."""
        body = StatsProjectRequest(project_ids=check_ids(project_ids, field="project_ids"))
        return await self._list_stats("/api/stats/projects", list[ProjectStats], body)

    async def folders(self, folder_ids: Iterable[str]) -> list[FolderStats]:
        """``GET /api/stats/folders`` with ``{"folder_ids": [...]}`` (at most 200; POST after a 405)."""
        body = StatsFolderRequest(folder_ids=check_ids(folder_ids, field="folder_ids"))
        return await self._list_stats("/api/stats/folders", list[FolderStats], body)

    async def _list_stats(self, path: str, cast_to: type[T], body: Model) -> T:
        """GET with a JSON body, as the endpoint reference says; the OpenAPI has POST.

        A server answering 405 to the GET gets the POST once, and this client (with its
        ``with_options`` copies) sends POST to that path from then on.
        """
        learned = self._client._transport.learned_methods
        method = learned.get(path, "GET")
        try:
            return await self._client._request(method, path, cast_to, json=body, idempotent=True)
        except APIStatusError as exc:
            if exc.status_code != 405 or method != "GET":
                raise
        learned[path] = "POST"
        return await self._client._request("POST", path, cast_to, json=body, idempotent=True)

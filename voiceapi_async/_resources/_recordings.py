"""Recordings (originals and conversions), calibrations, and notes."""

from __future__ import annotations

import builtins
import functools
import os
import warnings
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any

from .._downloads import ByteStream, DownloadedFile
from .._errors import InvalidRequestError
from .._models import (
    Calibration,
    CalibrationRename,
    DeletedId,
    Direction,
    Note,
    NoteCreate,
    NoteDelete,
    NoteUpdate,
    OkResponse,
    Recording,
    RecordingPutUpdate,
    RecordingUpdate,
)
from .._pagination import AsyncPaginator
from .._uploads import AudioSource, prepare_upload
from .._validation import check_enum, check_id, check_label, check_limit, check_name, check_offset
from ._base import Resource, poll_until_final
from ._polling import BulkPoller, watch_recordings

__all__ = ["Calibrations", "Notes", "Recordings"]

RECORDINGS_MAX_LIMIT = 200
CALIBRATIONS_MAX_LIMIT = 200
CALIBRATIONS_DEFAULT_LIMIT = 50
NOTE_MAX = 2000


class Recordings(Resource):
    def list(
        self,
        *,
        project_id: str | None = None,
        folder_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        direction: Direction | str | None = None,
    ) -> AsyncPaginator[Recording]:
        """``GET /api/recordings``: a folder's or a project's recordings (both kinds).

        Await for one page (``limit`` at most 200), ``async for`` for every recording.
        """
        if project_id is None and folder_id is None:
            raise InvalidRequestError("recordings.list needs a project_id or a folder_id")
        params = {
            "project_id": check_id(project_id, field="project_id") if project_id is not None else None,
            "folder_id": check_id(folder_id, field="folder_id") if folder_id is not None else None,
            **_page_params(limit, offset, direction),
        }
        return self._client._paginate("/api/recordings", Recording, params)

    def originals(
        self,
        folder_id: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        direction: Direction | str | None = None,
    ) -> AsyncPaginator[Recording]:
        """``GET /api/recordings/originals``: a folder's originals (a page, or ``async for`` every one)."""
        params = {"folder_id": check_id(folder_id, field="folder_id"), **_page_params(limit, offset, direction)}
        return self._client._paginate("/api/recordings/originals", Recording, params)

    def conversions(
        self,
        original_id: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        direction: Direction | str | None = None,
    ) -> AsyncPaginator[Recording]:
        """``GET /api/recordings/conversions``: an original's conversions (a page, or ``async for`` every one)."""
        params = {"original_id": check_id(original_id, field="original_id"), **_page_params(limit, offset, direction)}
        return self._client._paginate("/api/recordings/conversions", Recording, params)

    async def create(
        self,
        folder_id: str,
        audio: AudioSource,
        *,
        label: str | None = None,
        microphone: str = "file",
        filename: str | None = None,
    ) -> Recording:
        """``POST /api/recordings``: upload an original (streamed; wav, ogg, mp3 or flac).

        Not retried once the body may have reached the server: on
        ``APIConnectionError(request_sent=True)`` look for the recording (e.g. by its
        label) before uploading again.
        """
        fields = {
            "parent_folder_id": check_id(folder_id, field="folder_id"),
            "microphone": microphone or "file",
            "label": check_label(label),
        }
        upload = await prepare_upload(audio, filename=filename)
        return await self._client._request(
            "POST", "/api/recordings", Recording, body=upload.form(fields), bucket="slow", idempotent=False
        )

    async def get(self, recording_id: str) -> Recording:
        """``GET /api/recordings/{id}``."""
        path = f"/api/recordings/{check_id(recording_id, field='recording_id')}"
        return await self._client._request("GET", path, Recording)

    async def update(self, recording_id: str, *, label: str | None = None, starred: bool | None = None) -> Recording:
        """``PATCH /api/recordings/{id}``: change the label and/or the star."""
        if label is None and starred is None:
            raise InvalidRequestError("recordings.update needs a label or starred")
        path = f"/api/recordings/{check_id(recording_id, field='recording_id')}"
        body = RecordingUpdate(label=check_label(label), starred=starred)
        return await self._client._request("PATCH", path, Recording, json=body)

    async def replace(self, recording_id: str, *, label: str, starred: bool) -> Recording:
        """``PUT /api/recordings/{id}``: set both the label and the star."""
        path = f"/api/recordings/{check_id(recording_id, field='recording_id')}"
        body = RecordingPutUpdate(label=check_label(label) or "", starred=bool(starred))
        return await self._client._request("PUT", path, Recording, json=body)

    async def delete(self, recording_id: str) -> builtins.list[DeletedId]:
        """``DELETE /api/recordings/{id}``: the ids deleted (an original takes its conversions along)."""
        path = f"/api/recordings/{check_id(recording_id, field='recording_id')}"
        answer: Any = await self._client._request(
            "DELETE",
            path,
            builtins.list[DeletedId] | DeletedId,  # type: ignore[arg-type]  # the OpenAPI's list, or one object
        )
        return answer if isinstance(answer, builtins.list) else [answer]

    async def export(
        self, original_id: str, destination: str | os.PathLike[str], *, starred_only: bool = False
    ) -> DownloadedFile:
        """``GET /api/recordings/export``: stream the zip of an original's conversions to disk."""
        params = {"original_id": check_id(original_id, field="original_id"), "starred_only": starred_only}
        return await self._client._download(
            "/api/recordings/export", destination, params=params, bucket="slow", fallback_name="recordings.zip"
        )

    async def download(
        self, recording: Recording | str, destination: str | os.PathLike[str], *, waveform: bool = False
    ) -> DownloadedFile:
        """Download a recording's audio (or its waveform) to a file or into a directory.

        Written to a temporary file and renamed into place: an interrupted download
        never leaves a truncated file under the final name.
        """
        url, name = _file_url(recording, waveform)
        return await self._client._download(url, destination, fallback_name=name)

    def stream(self, recording: Recording | str, *, waveform: bool = False) -> AbstractAsyncContextManager[ByteStream]:
        """A recording's audio (or waveform), open for streaming inside ``async with``.

        >>> async with client.recordings.stream(recording) as stream:
        ...     async for chunk in stream.iter_bytes():
        ...         await response.write(chunk)

        Leaving the block (also by ``break``, an error or cancellation) releases the
        connection and the in-flight slot at once.
        """
        url, _ = _file_url(recording, waveform)
        return self._client._stream(url)

    def iter_bytes(self, recording: Recording | str, *, waveform: bool = False) -> AsyncIterator[bytes]:
        """Deprecated: use ``async with recordings.stream(rec) as s: async for chunk in s.iter_bytes()``.

        An iterator left before its end (``break``) holds its in-flight slot until it is
        garbage-collected; ``stream()`` releases it when its block ends.
        """
        warnings.warn(
            "recordings.iter_bytes() is deprecated: an iterator left early keeps its in-flight slot until "
            "garbage-collected; use `async with client.recordings.stream(rec) as s: async for chunk in "
            "s.iter_bytes()`",
            DeprecationWarning,
            stacklevel=2,
        )
        url, _ = _file_url(recording, waveform)
        return self._client._iter_bytes(url)

    @functools.cached_property
    def _poller(self) -> BulkPoller:
        """This client's one poll loop, shared by every ``watch()`` and every job on it."""
        return BulkPoller(self)

    def watch(
        self,
        recordings: Iterable[Recording | str],
        *,
        folder_id: str | None = None,
        project_id: str | None = None,
        interval: float = 2.0,
        max_interval: float = 30.0,
        timeout: float | None = 3600.0,
    ) -> AsyncIterator[Recording]:
        """Yield each recording as it reaches a final state (``done`` or ``error``), like ``asyncio.as_completed``.

        One list call per project (or ``folder_id``) a round answers for up to 200 of them,
        newest first, where N ``wait()`` calls would make N requests a round; and the rounds
        are the client's: N concurrent ``watch()`` calls (and jobs) on one project share one
        pass a round.  The project comes from each ``Recording`` (or ``folder_id`` /
        ``project_id``); a bare id is fetched once to learn it.  Rounds back off (x1.5, up to
        ``max_interval``) while nothing finishes, on the client's clock; ``APITimeoutError``
        after ``timeout`` seconds.

        >>> async for recording in client.recordings.watch(order.conversion_id for order in orders):
        ...     print(recording.id, recording.state)
        """
        if folder_id is not None:
            check_id(folder_id, field="folder_id")
        if project_id is not None:
            check_id(project_id, field="project_id")
        if interval <= 0 or max_interval < interval:
            raise InvalidRequestError("need 0 < interval <= max_interval")
        return watch_recordings(
            self,
            list(recordings),
            folder_id=folder_id,
            project_id=project_id,
            interval=interval,
            max_interval=max_interval,
            timeout=timeout,
        )

    async def wait(
        self,
        recording_id: str,
        *,
        interval: float = 2.0,
        max_interval: float = 30.0,
        timeout: float | None = 3600.0,
    ) -> Recording:
        """Poll one recording until it is ``done`` or ``error`` (backing off while it is not).

        For many recordings (or many waiting requests) use ``watch()``: one list call per project a round answers for all.
        """
        return await poll_until_final(
            self._client._transport,
            lambda: self.get(recording_id),
            lambda recording: recording.is_final,
            path=f"/api/recordings/{recording_id}",
            interval=interval,
            max_interval=max_interval,
            timeout=timeout,
        )


class Calibrations(Resource):
    async def create(self, name: str, audio: AudioSource, *, filename: str | None = None) -> Calibration:
        """``POST /api/calibration``: upload a calibration sample (not retried once sent)."""
        upload = await prepare_upload(audio, filename=filename)
        fields: dict[str, str | None] = {"name": _calibration_name(name)}
        return await self._client._request(
            "POST", "/api/calibration", Calibration, body=upload.form(fields), bucket="slow", idempotent=False
        )

    async def get(self, calibration_id: str) -> Calibration:
        """``GET /api/calibration/{id}``."""
        path = f"/api/calibration/{check_id(calibration_id, field='calibration_id')}"
        return await self._client._request("GET", path, Calibration)

    async def wait(
        self,
        calibration_id: str,
        *,
        interval: float = 2.0,
        max_interval: float = 30.0,
        timeout: float | None = 600.0,
    ) -> Calibration:
        """Poll a calibration until it is ``calibrated`` or ``error``."""
        return await poll_until_final(
            self._client._transport,
            lambda: self.get(calibration_id),
            lambda calibration: calibration.state.is_final,
            path=f"/api/calibration/{calibration_id}",
            interval=interval,
            max_interval=max_interval,
            timeout=timeout,
        )

    def list(
        self, *, limit: int | None = None, offset: int | None = None, search: str | None = None
    ) -> AsyncPaginator[Calibration]:
        """``GET /api/calibration``: await for one page (``limit`` at most 200), ``async for`` for every one.

        The endpoint reference documents a bare JSON list, the OpenAPI a page: the
        paginator reads both.
        """
        params = {
            "limit": check_limit(limit, CALIBRATIONS_MAX_LIMIT),
            "offset": check_offset(offset),
            "search": search,
        }
        return self._client._paginate("/api/calibration", Calibration, params, default_limit=CALIBRATIONS_DEFAULT_LIMIT)

    async def update(self, calibration_id: str, *, name: str) -> Calibration:
        """``PATCH /api/calibration/{id}``: rename a calibration (in the OpenAPI, not in the endpoint reference)."""
        path = f"/api/calibration/{check_id(calibration_id, field='calibration_id')}"
        body = CalibrationRename(name=_calibration_name(name))
        return await self._client._request("PATCH", path, Calibration, json=body)

    async def delete(self, calibration_id: str) -> Calibration:
        """``DELETE /api/calibration/{id}``: the deleted calibration."""
        path = f"/api/calibration/{check_id(calibration_id, field='calibration_id')}"
        return await self._client._request("DELETE", path, Calibration)

    async def enable(self, calibration_id: str) -> Calibration:
        """``PUT /api/calibration/{id}/enable``: make it the account's default calibration."""
        path = f"/api/calibration/{check_id(calibration_id, field='calibration_id')}/enable"
        return await self._client._request("PUT", path, Calibration)

    async def set_auto(self) -> OkResponse:
        """``POST /api/calibration/auto``: use automatic calibration by default."""
        return await self._client._request("POST", "/api/calibration/auto", OkResponse, idempotent=True)


class Notes(Resource):
    async def list(self, folder_id: str) -> builtins.list[Note]:
        """``GET /api/notes?folder_id=``: every note of a folder's recordings, in one call.

        (In the OpenAPI, not in the endpoint reference.)
        """
        params = {"folder_id": check_id(folder_id, field="folder_id")}
        return await self._client._request("GET", "/api/notes", builtins.list[Note], params=params)

    async def create(self, recording_id: str, text: str) -> Note:
        """``POST /api/notes``: attach a note to a recording."""
        body = NoteCreate(recording_id=check_id(recording_id, field="recording_id"), text=_note_text(text))
        return await self._client._request("POST", "/api/notes", Note, json=body)

    async def replace(self, recording_id: str, text: str) -> Note:
        """``PUT /api/notes``: replace the text of a recording's note."""
        body = NoteUpdate(recording_id=check_id(recording_id, field="recording_id"), text=_note_text(text))
        return await self._client._request("PUT", "/api/notes", Note, json=body)

    async def delete(self, recording_id: str) -> Note:
        """``DELETE /api/notes``: remove a recording's note; the deleted note is returned."""
        body = NoteDelete(recording_id=check_id(recording_id, field="recording_id"))
        return await self._client._request("DELETE", "/api/notes", Note, json=body)


def _calibration_name(name: str) -> str:
    """A calibration's name follows the label rules (at most 40 of ``[a-zA-Z0-9 -]``)."""
    checked = check_name(name, field="calibration name")
    check_label(checked, field="calibration name")
    return checked


def _note_text(text: str) -> str:
    if not isinstance(text, str) or not text:
        raise InvalidRequestError("a note's text must be a non-empty string")
    if len(text) > NOTE_MAX:
        raise InvalidRequestError(f"a note is {len(text)} characters long; the API allows at most {NOTE_MAX}")
    return text


def _page_params(limit: int | None, offset: int | None, direction: Direction | str | None) -> dict[str, Any]:
    return {
        "limit": check_limit(limit, RECORDINGS_MAX_LIMIT),
        "offset": check_offset(offset),
        "direction": check_enum(direction, Direction, field="direction"),
    }


def _file_url(recording: Recording | str, waveform: bool) -> tuple[str, str]:
    """The URL of a recording's file and a fallback file name for it."""
    if isinstance(recording, str):
        return recording, recording.rstrip("/").rsplit("/", 1)[-1] or "recording"
    url = recording.waveform_url if waveform else recording.url
    if not url:
        raise InvalidRequestError(
            f"recording {recording.id} has no {'waveform_url' if waveform else 'url'} yet (state: {recording.state})"
        )
    fallback = f"{recording.id}.json" if waveform else (recording.file_name or f"{recording.id}.wav")
    return url, fallback

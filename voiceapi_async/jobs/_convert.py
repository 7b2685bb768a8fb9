"""``BatchConvertJob``: many audio files, converted to one or more voices, downloaded to a directory."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from .._client import VoiceClient
from .._models import Recording
from ._audioinfo import probe_audio
from ._context import stem_of, suffix_of
from ._errors import JobConfigError
from ._events import ItemUploaded, JobEvent
from ._job import BaseJob
from ._reconcile import marked_label
from ._sources import DEFAULT_INCLUDE, AudioInputs, SourceFile, iter_source_batches
from ._store import ItemRow, JobStore, NewItem
from ._targets import ResolvedTarget, Target, resolve_targets

__all__ = ["BatchConvertJob"]

DEFAULT_MAX_FILE_SIZE = 1 << 30


def _as_targets(targets: Sequence[Target | str] | Target | str) -> list[Target]:
    if isinstance(targets, (Target, str)):
        targets = [targets]
    out = [Target(t) if isinstance(t, str) else t for t in targets]
    if not out:
        raise JobConfigError("a conversion job needs at least one target voice")
    if not all(isinstance(t, Target) for t in out):
        raise JobConfigError("targets must be Target objects or voice names")
    return out


class BatchConvertJob(BaseJob):
    """Convert audio files to one or more voices: upload, order, poll in bulk, download.

    >>> job = BatchConvertJob(client, "recordings/", ["Alice", Target("Bob", semitones_correction=-2)], "out/")
    >>> print(await job.plan())
    >>> async for event in job.run():
    ...     ...
    >>> job.summary

    ``inputs`` is a file or directory, a list of them, or an async iterable of file
    paths; directories are walked (``include``/``exclude`` globs, case-insensitive, on
    the path relative to the directory; hidden entries skipped).  ``mirror_tree``
    recreates the input directories as nested folders on the server.  Each file is
    uploaded once, ordered once (one order carrying every target) and each result is
    downloaded once to ``output_dir/<relative dir>/<name>.<target label>.wav``, even
    across interrupted runs: the journal (``output_dir/.voiceapi-job.sqlite``) keeps
    every step.  See ``BaseJob`` options for concurrency, retries and polling.
    """

    kind_name = "convert"

    def __init__(
        self,
        client: VoiceClient,
        inputs: AudioInputs,
        targets: Sequence[Target | str] | Target | str,
        output_dir: str | Path,
        *,
        include: Sequence[str] = DEFAULT_INCLUDE,
        exclude: Sequence[str] = (),
        mirror_tree: bool = False,
        max_file_size: int | None = DEFAULT_MAX_FILE_SIZE,
        **options: Any,
    ) -> None:
        super().__init__(client, output_dir, **options)
        self.inputs = inputs
        self.targets = _as_targets(targets)
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.mirror_tree = mirror_tree
        self.max_file_size = max_file_size
        self._resolved: list[ResolvedTarget] = []

    def _identity(self) -> dict[str, Any]:
        return {
            **super()._identity(),
            "targets": [t.identity() for t in self.targets],
            "mirror_tree": self.mirror_tree,
        }

    async def _resolved_targets(self) -> Any:
        return msgspec.to_builtins(await resolve_targets(self.client, self.targets, tts=False))

    async def _resolve(self, journal: JobStore) -> None:
        stored = await journal.get_meta("resolved_targets")
        if stored is not None:
            self._resolved = msgspec.convert(stored, list[ResolvedTarget])
            return
        self._resolved = await resolve_targets(self.client, self.targets, tts=False)
        await journal.set_meta({"resolved_targets": msgspec.to_builtins(self._resolved)})

    async def _discover(self, journal: JobStore) -> None:
        skip = self.output_dir.resolve()
        async for batch in iter_source_batches(self.inputs, include=self.include, exclude=self.exclude, skip_dir=skip):
            known = await journal.known_keys([s.key for s in batch])
            fresh = [s for s in batch if s.key not in known]
            if fresh:
                items = await asyncio.to_thread(self._validate, fresh)
                await journal.add_items(items)

    def _validate(self, sources: Sequence[SourceFile]) -> list[NewItem]:
        """Blocking checks of a batch of files (run in a worker thread)."""
        items = []
        job_id, named, mirror, n_targets = self.job_id, self.named, self.mirror_tree, len(self.targets)
        for source in sources:
            key, rel, error = source.key, source.rel, source.error
            slash = rel.rfind("/")
            # A named job's markers must not depend on where the inputs are (another machine).
            label = marked_label(stem_of(rel), job_id, rel if named else key)
            size = duration = None
            if error is None:
                try:
                    info = probe_audio(source.path, max_size=self.max_file_size)
                except OSError as exc:
                    error = f"cannot read: {exc.strerror or exc}"
                except ValueError as exc:
                    error = str(exc)
                else:
                    size, duration = info.size, info.duration
            items.append(
                NewItem(
                    key=key,
                    name=rel,
                    source=source.path,
                    rel=rel,
                    rel_dir=rel[:slash] if mirror and slash > 0 else "",
                    label=label,
                    size=size,
                    duration=duration,
                    n_targets=n_targets,
                    error=error,
                )
            )
        return items

    def _kind(self) -> _ConvertKind:
        return _ConvertKind(self.client, self._resolved)


class _ConvertKind:
    def __init__(self, client: VoiceClient, targets: list[ResolvedTarget]) -> None:
        self.client = client
        self.targets = targets

    async def create_original(self, item: ItemRow) -> Recording:
        assert item.folder_id is not None
        return await self.client.recordings.create(
            item.folder_id, item.source, label=item.label, filename=os.path.basename(item.source)
        )

    def created_event(self, item: ItemRow, original_id: str, reconciled: bool) -> JobEvent:
        return ItemUploaded(key=item.key, name=item.name, original_id=original_id, reconciled=reconciled)

    def targets_for(self, item: ItemRow) -> Sequence[ResolvedTarget]:
        return self.targets

    def output_path(self, item: ItemRow, target: int, extension: str) -> str:
        rel = item.rel
        stem = rel[: len(rel) - len(suffix_of(rel))]  # the directory and the name without its suffix
        return f"{stem}.{self.targets[target].slug}{extension}"

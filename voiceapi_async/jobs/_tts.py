"""``TTSJob``: many texts spoken (TTS v2), optionally converted to voices, downloaded to a directory."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec

from .._client import VoiceClient
from .._models import Recording, TTSVoice, Voice
from ._context import target_label
from ._errors import JobConfigError
from ._events import ItemSynthesized, JobEvent, PartsJoined
from ._job import BaseJob
from ._join import join_wav, remove_files, text_key
from ._reconcile import marked_label
from ._stages import ItemStage, OutputStage
from ._store import ItemRow, JobStore, NewItem
from ._targets import ResolvedTarget, Target, resolve_targets, resolve_tts_voice
from ._texts import TextSource, TTSInputs, iter_text_batches

__all__ = ["TTSJob"]

#: Characters spoken per second, for the plan's duration estimate of a text.
CHARS_PER_SECOND = 15.0
_SLUG = re.compile(r"[^A-Za-z0-9]+")


class TTSJob(BaseJob):
    """Speak texts with TTS v2, then (optionally) convert each to voices, and download the results.

    >>> job = TTSJob(client, "lines.csv", "out/", targets=["Alice"])
    >>> summary = await job.run_to_completion()

    ``texts`` is a list of strings or ``TextItem``s, an async iterable of them, or a path
    to a ``.txt`` (one text a line), ``.csv`` (header with ``text`` and optional
    ``voice``, ``label``, ``tts_voice``, ``language``) or ``.jsonl`` file (objects with the
    same keys).  Texts over 1000 characters are split at sentence boundaries; each part is
    its own item (key ``<line>.<part>``).  An item's ``voice`` replaces ``targets`` for it.
    Conversions of TTS need a narration style: the voice's default unless a target names
    one.  Without targets, the TTS original itself is downloaded.  Outputs go to
    ``output_dir/<line>[-<label>][.<target label>].wav``.  The parts of a long text are
    joined into that one file per target once all are downloaded (WAV: frames
    concatenated); ``keep_parts=True`` also keeps ``<line>.<part>...`` files.
    """

    kind_name = "tts"

    def __init__(
        self,
        client: VoiceClient,
        texts: TTSInputs,
        output_dir: str | Path,
        *,
        targets: Sequence[Target | str] = (),
        tts_voice: str | None = None,
        language: str | None = None,
        keep_parts: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(client, output_dir, **options)
        self.keep_parts = keep_parts
        self.texts = texts
        self.targets = [Target(t) if isinstance(t, str) else t for t in targets]
        if not all(isinstance(t, Target) for t in self.targets):
            raise JobConfigError("targets must be Target objects or voice names")
        self.tts_voice = tts_voice
        self.language = language
        self._resolved: list[ResolvedTarget] = []
        self._voice_cache: dict[str, Voice] = {}
        self._per_voice: dict[str, list[ResolvedTarget]] = {}
        self._tts_voices: list[TTSVoice] | None = None

    def _identity(self) -> dict[str, Any]:
        return {
            **super()._identity(),
            "targets": [t.identity() for t in self.targets],
            "tts_voice": self.tts_voice,
            "language": self.language,
        }

    async def _resolved_targets(self) -> Any:
        return msgspec.to_builtins(await resolve_targets(self.client, self.targets, tts=True, cache=self._voice_cache))

    async def _resolve(self, journal: JobStore) -> None:
        stored = await journal.get_meta("resolved_targets")
        if stored is not None:
            self._resolved = msgspec.convert(stored, list[ResolvedTarget])
        else:
            self._resolved = await resolve_targets(self.client, self.targets, tts=True, cache=self._voice_cache)
            await journal.set_meta({"resolved_targets": msgspec.to_builtins(self._resolved)})
        if self.tts_voice is not None:
            await self._tts_voice_id(self.tts_voice)

    async def _tts_voice_id(self, name_or_id: str) -> str:
        if self._tts_voices is None:
            self._tts_voices = await self.client.tts.voices()
        return resolve_tts_voice(name_or_id, self._tts_voices)

    async def _discover(self, journal: JobStore) -> None:
        async for batch in iter_text_batches(self.texts):
            known = await journal.known_keys([s.key for s in batch])
            items = [await self._new_item(s) for s in batch if s.key not in known]
            if items:
                await journal.add_items(items)

    async def _new_item(self, source: TextSource) -> NewItem:
        item = source.item
        if source.error is not None:
            name = item.label or f"text {source.key}"
            return NewItem(key=source.key, name=name, source=item.text, rel=source.key, error=source.error)
        extra: dict[str, Any] = {}
        targets = self._resolved
        if item.voice is not None:  # resolved before anything is sent: an unknown voice stops the job here
            key = item.voice.casefold()
            if key not in self._per_voice:
                self._per_voice[key] = await resolve_targets(
                    self.client, [Target(item.voice)], tts=True, cache=self._voice_cache
                )
            targets = self._per_voice[key]
            extra["targets"] = msgspec.to_builtins(targets)
        tts_voice = item.tts_voice or self.tts_voice
        if tts_voice is not None:
            extra["tts_voice_id"] = await self._tts_voice_id(tts_voice)
        if item.language or self.language:
            extra["language"] = item.language or self.language
        if source.parts > 1:
            extra["part"], extra["parts"] = source.part, source.parts
        base = item.label or " ".join(item.text.split()[:6])
        slug = _SLUG.sub("-", item.label).strip("-") if item.label else ""
        rel = f"{source.key}-{slug}" if slug else source.key
        return NewItem(
            key=source.key,
            name=item.label or _preview(item.text),
            source=item.text,
            rel=rel,
            label=marked_label(base, self.job_id, source.key),
            duration=round(len(item.text) / CHARS_PER_SECOND, 3),
            chars=len(item.text),
            n_targets=len(targets),
            extra=extra or None,
        )

    async def _finish(self, journal: JobStore) -> AsyncIterator[JobEvent]:
        """Join the parts of each long text whose parts are all done, per target (see ``_join``)."""
        texts: dict[str, dict[int, ItemRow]] = {}
        after = 0
        while rows := await journal.items_in_stages((ItemStage.DONE,), after, 256):
            after = rows[-1].seq
            for row in rows:
                if row.extra.get("parts"):
                    texts.setdefault(text_key(row.key), {})[int(row.extra["part"])] = row
        kind = self._kind()
        for key, by_part in texts.items():
            parts = [by_part[n] for n in sorted(by_part)]
            if len(parts) != int(parts[0].extra["parts"]):
                continue  # some part is not done yet: joined by a later run
            outputs = [{o.target: o for o in await journal.outputs_of(p.seq)} for p in parts]
            whole = msgspec.structs.replace(parts[0], rel=text_key(parts[0].key) + parts[0].rel[len(parts[0].key) :])
            for target in sorted(outputs[0]):
                paths = [outs[target].path or "" if target in outs else "" for outs in outputs]
                if not all(paths):
                    continue
                destination = self.output_dir / kind.output_path(whole, target, PurePosixPath(paths[0]).suffix)
                if all(p == str(destination) for p in paths):
                    continue  # joined by an earlier run
                size = await asyncio.to_thread(join_wav, [Path(p) for p in paths], destination)
                if size is None:
                    continue  # not a format that joins: the parts stay
                # The joined file is what the summary, the report and `status` list (kept parts too:
                # they lie next to it, named by each part's ItemDone).
                for part in parts:
                    await journal.set_output(part.seq, target, OutputStage.DOWNLOADED, path=str(destination), size=size)
                if not self.keep_parts:
                    await asyncio.to_thread(remove_files, paths)
                yield PartsJoined(
                    key=key,
                    name=parts[0].name,
                    target=target_label(kind, parts[0], target),
                    parts=len(parts),
                    path=str(destination),
                )

    def _kind(self) -> _TTSKind:
        return _TTSKind(self.client, self._resolved)


def _preview(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


class _TTSKind:
    def __init__(self, client: VoiceClient, targets: list[ResolvedTarget]) -> None:
        self.client = client
        self.targets = targets
        self._decoded: dict[int, list[ResolvedTarget]] = {}

    async def create_original(self, item: ItemRow) -> Recording:
        assert item.folder_id is not None
        return await self.client.tts.create(
            item.folder_id,
            item.source,
            label=item.label,
            text_language=item.extra.get("language"),
            tts_voice_id=item.extra.get("tts_voice_id"),
        )

    def created_event(self, item: ItemRow, original_id: str, reconciled: bool) -> JobEvent:
        return ItemSynthesized(key=item.key, name=item.name, original_id=original_id, reconciled=reconciled)

    def targets_for(self, item: ItemRow) -> Sequence[ResolvedTarget]:
        own = item.extra.get("targets")
        if own is None:
            return self.targets
        return msgspec.convert(own, list[ResolvedTarget])

    def output_path(self, item: ItemRow, target: int, extension: str) -> str:
        if target < 0:
            return f"{item.rel}{extension}"
        return f"{item.rel}.{self.targets_for(item)[target].slug}{extension}"

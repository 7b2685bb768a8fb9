"""Inputs of text-to-speech jobs: lists, text files (one item a line), CSV and JSONL.

Texts longer than the API's 1000 characters are split at sentence boundaries (then at
word boundaries, then hard) and each part becomes its own item, keyed ``<n>.<part>``.
Files are read line by line, never whole.
"""

from __future__ import annotations

import asyncio
import csv
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from .._validation import TEXT_MAX
from ._errors import JobConfigError

__all__ = ["TTSInputs", "TextItem", "TextSource", "iter_text_batches", "split_text"]

_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])\s+")
_BATCH = 256


@dataclass(frozen=True)
class TextItem:
    """One text to speak.  ``voice`` (name or id) replaces the job's targets for this item;
    ``tts_voice`` (name or id) picks the TTS voice; ``label`` names the result."""

    text: str
    voice: str | None = None
    label: str | None = None
    tts_voice: str | None = None
    language: str | None = None


#: Texts (a list, or an async iterable) or a path to a ``.txt``, ``.csv`` or ``.jsonl`` file.
TTSInputs = str | os.PathLike[str] | Sequence[str | TextItem] | AsyncIterable[str | TextItem]


@dataclass(frozen=True)
class TextSource:
    """One text to speak; ``error``: a record that cannot be spoken (an empty text), reported as a failed input."""

    key: str
    item: TextItem
    part: int
    parts: int
    error: str | None = None


def split_text(text: str, limit: int = TEXT_MAX) -> list[str]:
    """Parts of at most ``limit`` characters, cut after sentences where possible."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return [text] if text else []
    parts: list[str] = []
    current = ""
    for sentence in _pieces(text, limit):
        candidate = f"{current} {sentence}" if current else sentence
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = sentence
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> Iterator[str]:
    """Sentences; a sentence longer than ``limit`` is cut at spaces, a word longer than it, hard."""
    for sentence in _SENTENCE_END.split(text):
        if len(sentence) <= limit:
            yield sentence
            continue
        word_run = ""
        for word in sentence.split(" "):
            while len(word) > limit:
                if word_run:
                    yield word_run
                    word_run = ""
                yield word[:limit]
                word = word[limit:]
            candidate = f"{word_run} {word}" if word_run else word
            if len(candidate) <= limit:
                word_run = candidate
            else:
                yield word_run
                word_run = word
        if word_run:
            yield word_run


def _item_from_mapping(row: dict[str, Any], where: str) -> TextItem:
    text = row.get("text")
    if text is None:
        raise JobConfigError(f"{where}: no 'text' field")

    def opt(name: str) -> str | None:
        value = row.get(name)
        return str(value).strip() or None if value is not None else None

    return TextItem(str(text), opt("voice"), opt("label"), opt("tts_voice"), opt("language"))


def _read_file(path: Path) -> Iterator[tuple[str, TextItem]]:
    suffix = path.suffix.lower()
    try:
        f = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise JobConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        if suffix == ".csv":
            reader = csv.DictReader(f)
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise JobConfigError(f"{path}: a CSV needs a header with a 'text' column")
            for n, row in enumerate(reader, start=2):
                yield str(n), _item_from_mapping(row, f"{path}:{n}")
        elif suffix in (".jsonl", ".ndjson"):
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = msgspec.json.decode(line)
                except msgspec.DecodeError as exc:
                    raise JobConfigError(f"{path}:{n}: not JSON: {exc}") from None
                if isinstance(row, str):
                    row = {"text": row}
                if not isinstance(row, dict):
                    raise JobConfigError(f"{path}:{n}: expected an object with a 'text' field")
                yield str(n), _item_from_mapping(row, f"{path}:{n}")
        else:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    yield str(n), TextItem(line.strip())


def _explode(key: str, item: TextItem) -> Iterator[TextSource]:
    parts = split_text(item.text)
    if not parts:  # a record without text: reported, not dropped
        yield TextSource(key, item, 0, 1, error="empty text: nothing to speak")
        return
    if len(parts) == 1:
        yield TextSource(key, TextItem(parts[0], item.voice, item.label, item.tts_voice, item.language), 0, 1)
        return
    for i, part in enumerate(parts):
        yield TextSource(
            f"{key}.{i + 1}", TextItem(part, item.voice, item.label, item.tts_voice, item.language), i + 1, len(parts)
        )


def _as_item(value: str | TextItem) -> TextItem:
    if isinstance(value, TextItem):
        return value
    if isinstance(value, str):
        return TextItem(value)
    raise JobConfigError(f"a TTS input must be a str or a TextItem, not {type(value).__name__}")


async def iter_text_batches(inputs: TTSInputs) -> AsyncIterator[list[TextSource]]:
    """Batches of text items (split where needed), keyed by their position in the input."""
    if isinstance(inputs, (str, os.PathLike)):
        lines = _read_file(Path(inputs))

        def chunk() -> list[TextSource]:
            out: list[TextSource] = []
            for key, item in lines:
                out.extend(_explode(key, item))
                if len(out) >= _BATCH:
                    break
            return out

        while batch := await asyncio.to_thread(chunk):
            yield batch
        return
    batch = []
    async for n, value in _numbered(inputs):
        batch.extend(_explode(str(n), _as_item(value)))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _numbered(
    inputs: Sequence[str | TextItem] | AsyncIterable[str | TextItem],
) -> AsyncIterator[tuple[int, str | TextItem]]:
    """Each input with its 1-based position, from a list or an async iterable alike."""
    if isinstance(inputs, AsyncIterable):
        n = 0
        async for value in inputs:
            n += 1
            yield n, value
    else:
        for n, value in enumerate(inputs, start=1):
            yield n, value

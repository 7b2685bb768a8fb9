"""Input discovery for speech-to-speech jobs: paths, directory walks with globs, async iterables.

Discovery is lazy and batched: a directory of a million files is walked in a worker
thread a batch at a time, so memory stays O(batch), never O(number of files).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = ["DEFAULT_INCLUDE", "AudioInputs", "SourceFile", "iter_source_batches"]

DEFAULT_INCLUDE = ("*.wav", "*.flac", "*.mp3", "*.ogg")

PathLike = str | os.PathLike[str]
#: A file or directory, a list of them, or an async iterable of file paths.
AudioInputs = PathLike | Sequence[PathLike] | AsyncIterable[PathLike]

_BATCH = 256


@dataclass(frozen=True)
class SourceFile:
    """One input file.  ``key`` (its absolute path) identifies it across runs; ``rel`` names its outputs.

    ``error``: the input cannot be used at all (a directory that could not be listed); it
    is reported as a failed input rather than skipped silently.
    """

    path: Path
    key: str
    rel: PurePosixPath
    error: str | None = None


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    low = rel.lower()
    name = low.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(low, p.lower()) or fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


def _walk(root: Path, include: Sequence[str], exclude: Sequence[str], skip: Path | None) -> Iterator[SourceFile]:
    """Files under ``root`` in a stable (sorted) order; hidden entries and ``skip`` are left out.

    A directory that cannot be listed is yielded as an input with an ``error``.
    """
    unreadable: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable.append):
        yield from _unreadable(unreadable, root)
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and (skip is None or (here / d).resolve() != skip)
        )
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = here / name
            rel = PurePosixPath(path.relative_to(root).as_posix())
            if _matches(str(rel), include) and not _matches(str(rel), exclude):
                yield SourceFile(path, str(path.resolve()), rel)
    yield from _unreadable(unreadable, root)


def _unreadable(errors: list[OSError], root: Path) -> Iterator[SourceFile]:
    while errors:
        exc = errors.pop(0)
        path = Path(exc.filename) if exc.filename else root
        rel = PurePosixPath(path.relative_to(root).as_posix()) if path != root else PurePosixPath(path.name)
        yield SourceFile(path, str(path.resolve()), rel, error=f"cannot read the directory: {exc.strerror or exc}")


def _expand(entry: PathLike, include: Sequence[str], exclude: Sequence[str], skip: Path | None) -> Iterator[SourceFile]:
    path = Path(entry)
    if path.is_dir():
        yield from _walk(path, include, exclude, skip)
    else:  # a file named explicitly is taken as is (missing or unreadable ones fail validation, visibly)
        yield SourceFile(path, str(path.resolve()), PurePosixPath(path.name))


def _batches(it: Iterator[SourceFile]) -> Iterator[list[SourceFile]]:
    batch: list[SourceFile] = []
    for item in it:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def iter_source_batches(
    inputs: AudioInputs,
    *,
    include: Sequence[str] = DEFAULT_INCLUDE,
    exclude: Sequence[str] = (),
    skip_dir: Path | None = None,
) -> AsyncIterator[list[SourceFile]]:
    """Batches of input files; blocking directory walks run in a worker thread."""
    if isinstance(inputs, AsyncIterable):
        batch: list[SourceFile] = []
        async for entry in inputs:
            batch.extend(_expand(entry, include, exclude, skip_dir))
            if len(batch) >= _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    entries: Sequence[PathLike] = [inputs] if isinstance(inputs, (str, os.PathLike)) else inputs

    def generate() -> Iterator[SourceFile]:
        for entry in entries:
            yield from _expand(entry, include, exclude, skip_dir)

    chunks = _batches(generate())
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        yield chunk

"""Input discovery for speech-to-speech jobs: paths, directory walks with globs, async iterables.

Discovery is lazy and batched: a directory of a million files is walked in a worker
thread a batch at a time, so memory stays O(batch), never O(number of files).
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import stat
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath

import msgspec

__all__ = ["DEFAULT_INCLUDE", "AudioInputs", "SourceFile", "iter_source_batches"]

DEFAULT_INCLUDE = ("*.wav", "*.flac", "*.mp3", "*.ogg")

PathLike = str | os.PathLike[str]
#: A file or directory, a list of them, or an async iterable of file paths.
AudioInputs = PathLike | Sequence[PathLike] | AsyncIterable[PathLike]

_BATCH = 256


class SourceFile(msgspec.Struct, frozen=True, gc=False):
    """One input file.  ``key`` (its absolute path) identifies it across runs; ``rel`` names its outputs.

    ``path`` is the path as found (the input joined with the folders walked), ``key`` its
    real path (``str(Path(path).resolve())``: a symlinked file's key is its target's), and
    ``rel`` its path relative to the input it came from, ``/``-separated.  Plain strings: a
    walk makes one per file and the journal stores strings.  ``error``: the input cannot be
    used at all (a directory that could not be listed); it is reported as a failed input
    rather than skipped silently.
    """

    path: str
    key: str
    rel: str
    error: str | None = None


Matcher = Callable[[str], bool]


def _matcher(patterns: Sequence[str]) -> Matcher:
    """Whether a relative path matches any glob, case-insensitively, as a whole or by its name.

    One regular expression for all the globs (``fnmatch.translate`` results are made to
    be joined with ``|``), compiled once per walk rather than looked up per file and glob.
    """
    if not patterns:
        return lambda rel: False
    match = re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns)).match

    def matches(rel: str) -> bool:
        low = rel.lower()
        if match(low) is not None:
            return True
        slash = low.rfind("/")
        return slash >= 0 and match(low, slash + 1) is not None  # the name alone

    return matches


#: Keys made by joining a folder's real path and a name: exact where paths are POSIX (see ``_walk``).
_JOIN_KEYS = os.name == "posix"


def _walk(root: Path, include: Matcher, exclude: Matcher, skip: Path | None) -> Iterator[SourceFile]:
    """Files under ``root`` in a stable (sorted) order; hidden entries and ``skip`` are left out.

    What ``os.walk`` (top-down, symlinked folders listed but not entered) walked, in the
    same order: a folder's files (sorted), then its sub-folders (sorted), each in turn.  A
    directory that cannot be listed is yielded as an input with an ``error``, where its
    files would have been.

    Keys are what ``str(path.resolve())`` gives, but ``resolve`` costs an ``lstat`` per
    path component and file.  ``realpath`` resolves a path component by component, so
    the real path of a folder's entry that is no symlink is the folder's real path and the
    entry's name: the root is resolved once, each folder entered (never a symlink) and
    each file that is not a symlink append their names, and only a symlinked file is
    resolved on its own.  (A folder replaced by a symlink while it is walked keeps the
    keys it had when the walk reached it.)
    """
    top = str(root)
    prefix = "" if top == "." else top if top.endswith("/") else top + "/"
    skip_key = None if skip is None else str(skip)
    real = str(root.resolve())
    stack: list[tuple[str, str, str]] = [(top, "", real if real.endswith("/") else real + "/")]
    while stack:
        directory, rel_dir, real_dir = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:  # what os.walk hands to its ``onerror``
            yield _unreadable(exc, root)
            continue
        files: list[tuple[str, os.DirEntry[str]]] = []
        dirs: list[tuple[str, os.DirEntry[str]]] = []
        for entry in entries:
            name = entry.name
            if name[0] == ".":
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:  # as os.walk: an entry that cannot be stat'ed is not a directory
                is_dir = False
            (dirs if is_dir else files).append((name, entry))
        files.sort()
        for name, entry in files:
            rel = rel_dir + name
            if include(rel) and not exclude(rel):
                path = prefix + rel
                joined = _JOIN_KEYS and not _is_symlink(entry)
                yield SourceFile(path, real_dir + name if joined else str(Path(path).resolve()), rel)
        dirs.sort(reverse=True)  # pushed in reverse, popped in sorted order
        for name, entry in dirs:
            if _is_symlink(entry):
                continue  # a symlinked folder is not entered, as os.walk does not
            path = os.path.join(directory, name)
            if _JOIN_KEYS:
                real_path = real_dir + name
                if real_path != skip_key:
                    stack.append((path, rel_dir + name + "/", real_path + "/"))
            elif skip is None or Path(path).resolve() != skip:  # paths compared as the OS does (Windows: any case)
                stack.append((path, rel_dir + name + "/", ""))


def _is_symlink(entry: os.DirEntry[str]) -> bool:
    """As ``os.path.islink`` and ``realpath`` judge: an entry that cannot be ``lstat``'ed is not a symlink."""
    try:
        return entry.is_symlink()
    except OSError:
        return False


def _unreadable(exc: OSError, root: Path) -> SourceFile:
    path = Path(exc.filename) if exc.filename else root
    rel = PurePosixPath(path.relative_to(root).as_posix()) if path != root else PurePosixPath(path.name)
    return SourceFile(
        str(path), str(path.resolve()), str(rel), error=f"cannot read the directory: {exc.strerror or exc}"
    )


def _expand(
    entry: PathLike, include: Matcher, exclude: Matcher, skip: Path | None, real_dirs: dict[tuple[str, str], str]
) -> Iterator[SourceFile]:
    """The files of a directory (walked), or a file named explicitly, taken as it is (no globs).

    A missing or unreadable file is kept: it fails validation, visibly.  A file's key is
    ``str(path.resolve())``: for one that is no symlink, its folder's real path and its
    name (``realpath`` resolves component by component), the folder resolved once per
    batch (``real_dirs``, emptied by the caller) for the many files of a shell glob.
    """
    path = Path(entry)
    try:
        mode: int | None = os.lstat(path).st_mode
    except (OSError, ValueError):  # missing, unreadable, a bad name: ``resolve`` decides (or raises) as before
        mode = None
    if mode is not None and (stat.S_ISDIR(mode) or (stat.S_ISLNK(mode) and path.is_dir())):
        yield from _walk(path, include, exclude, skip)
        return
    name, shown = path.name, str(path)
    if mode is None or stat.S_ISLNK(mode) or not _JOIN_KEYS or not name or name == "..":
        yield SourceFile(shown, str(path.resolve()), str(PurePosixPath(name)))
        return
    parent = os.path.dirname(shown) or "."
    where = (parent, "" if parent[0] == "/" else os.getcwd())  # a relative folder: of this working directory
    real = real_dirs.get(where)
    if real is None:
        real = real_dirs[where] = os.path.realpath(parent)  # what Path.resolve() gives (no loop: lstat passed)
    yield SourceFile(shown, real + name if real.endswith("/") else f"{real}/{name}", name)


def _batches(it: Iterator[SourceFile], new_batch: Callable[[], None]) -> Iterator[list[SourceFile]]:
    batch: list[SourceFile] = []
    for item in it:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
            new_batch()
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
    includes, excludes = _matcher(include), _matcher(exclude)
    real_dirs: dict[tuple[str, str], str] = {}
    if isinstance(inputs, AsyncIterable):
        batch: list[SourceFile] = []
        async for entry in inputs:
            batch.extend(_expand(entry, includes, excludes, skip_dir, real_dirs))
            if len(batch) >= _BATCH:
                yield batch
                batch = []
                real_dirs.clear()
        if batch:
            yield batch
        return
    entries: Sequence[PathLike] = [inputs] if isinstance(inputs, (str, os.PathLike)) else inputs

    def generate() -> Iterator[SourceFile]:
        for entry in entries:
            yield from _expand(entry, includes, excludes, skip_dir, real_dirs)

    chunks = _batches(generate(), real_dirs.clear)
    while True:
        chunk = await asyncio.to_thread(next, chunks, None)
        if chunk is None:
            return
        yield chunk

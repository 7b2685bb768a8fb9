"""Input discovery and validation: what a walk finds, in which order, under which key, and what
validation makes of each file.

The walk and the probe were rewritten for speed (``os.scandir`` and strings, one ``resolve``
per walk, the WAV header parsed from the bytes read once); these tests pin what must not
change.  Above all the key: a resumed job finds the items it knew by their key, so a key
that changed would upload and pay for them again.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
from collections.abc import AsyncIterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from voiceapi_async import VoiceClient
from voiceapi_async._uploads import audio_without_data, sniff_audio_format
from voiceapi_async._validation import sanitize_label
from voiceapi_async.jobs import BatchConvertJob, _sources
from voiceapi_async.jobs._audioinfo import CorruptAudioError, _wav_duration, probe_audio
from voiceapi_async.jobs._context import stem_of
from voiceapi_async.jobs._reconcile import marked_label
from voiceapi_async.jobs._sources import DEFAULT_INCLUDE, SourceFile, iter_source_batches
from voiceapi_async.jobs._store import NewItem

from .helpers import wav_bytes


async def discover(inputs: Any, **kwargs: Any) -> list[SourceFile]:
    return [s async for batch in iter_source_batches(inputs, **kwargs) for s in batch]


def rels(sources: Sequence[SourceFile]) -> list[str]:
    return [s.rel for s in sources]


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_bytes(0.01))


# -- keys ------------------------------------------------------------------------------------


async def test_keys_are_the_real_paths_byte_for_byte(tmp_path: Path) -> None:
    """The keys of every kind of entry, spelled out: a changed key re-uploads (and pays for) a known item."""
    real = tmp_path.resolve()
    touch(tmp_path / "data", "a.wav", "sub/b.wav", "sub/deeper/c.wav")
    (tmp_path / "data" / "link.wav").symlink_to("sub/b.wav")  # a symlinked file: its target's path
    (tmp_path / "data" / "broken.wav").symlink_to("nowhere.wav")  # kept; fails validation, visibly
    (tmp_path / "in").symlink_to("data")  # the input itself through a symlinked folder
    found = await discover(tmp_path / "in")
    assert [(s.rel, s.path, s.key) for s in found] == [
        ("a.wav", f"{tmp_path}/in/a.wav", f"{real}/data/a.wav"),
        ("broken.wav", f"{tmp_path}/in/broken.wav", f"{real}/data/nowhere.wav"),
        ("link.wav", f"{tmp_path}/in/link.wav", f"{real}/data/sub/b.wav"),
        ("sub/b.wav", f"{tmp_path}/in/sub/b.wav", f"{real}/data/sub/b.wav"),
        ("sub/deeper/c.wav", f"{tmp_path}/in/sub/deeper/c.wav", f"{real}/data/sub/deeper/c.wav"),
    ]
    assert all(s.key == str(Path(s.path).resolve()) for s in found)  # the definition of a key


async def test_a_symlinked_folder_inside_the_input_is_not_entered(tmp_path: Path) -> None:
    touch(tmp_path / "elsewhere", "x.wav")
    touch(tmp_path / "in", "a.wav", "real/b.wav")
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "in" / "loop").symlink_to(tmp_path / "in")
    assert rels(await discover(tmp_path / "in")) == ["a.wav", "real/b.wav"]


async def test_relative_inputs_keep_their_paths_and_get_absolute_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path / "in", "a.wav", "s/b.wav")
    monkeypatch.chdir(tmp_path)
    real = tmp_path.resolve()
    for spelled in ("in", "./in", "in/", "in/../in"):
        found = await discover(spelled)
        prefix = str(Path(spelled))
        assert [(s.path, s.key) for s in found] == [
            (f"{prefix}/a.wav", f"{real}/in/a.wav"),
            (f"{prefix}/s/b.wav", f"{real}/in/s/b.wav"),
        ], spelled
    monkeypatch.chdir(tmp_path / "in")
    assert [(s.path, s.key, s.rel) for s in await discover(".")] == [
        ("a.wav", f"{real}/in/a.wav", "a.wav"),
        ("s/b.wav", f"{real}/in/s/b.wav", "s/b.wav"),
    ]


async def test_files_named_explicitly_are_taken_as_they_are(tmp_path: Path) -> None:
    touch(tmp_path, "d/a.wav", "notes.txt")
    (tmp_path / "ln.wav").symlink_to("d/a.wav")
    named = [tmp_path / "d" / "a.wav", tmp_path / "notes.txt", tmp_path / "missing.wav", tmp_path / "ln.wav"]

    async def one_by_one() -> AsyncIterable[Path]:
        for path in named:
            yield path

    real = tmp_path.resolve()
    expected = [
        (f"{tmp_path}/d/a.wav", f"{real}/d/a.wav", "a.wav"),
        (f"{tmp_path}/notes.txt", f"{real}/notes.txt", "notes.txt"),  # no glob for files named explicitly
        (f"{tmp_path}/missing.wav", f"{real}/missing.wav", "missing.wav"),
        (f"{tmp_path}/ln.wav", f"{real}/d/a.wav", "ln.wav"),
    ]
    for inputs in (named, one_by_one()):
        assert [(s.path, s.key, s.rel) for s in await discover(inputs)] == expected


async def test_keys_of_files_named_explicitly_through_symlinks_and_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shell glob names each file: their keys are still ``resolve``'s, whatever the spelling."""
    touch(tmp_path / "data", "a.wav", "sub/b.wav")
    (tmp_path / "data" / "ln.wav").symlink_to("sub/b.wav")
    (tmp_path / "via").symlink_to("data")
    (tmp_path / "data" / "sublink").symlink_to("sub")
    real = tmp_path.resolve()
    monkeypatch.chdir(tmp_path)
    spelled = ["data/a.wav", "./data/a.wav", "via/a.wav", "via/sub/b.wav", "data/sublink/b.wav", "via/ln.wav"]
    spelled += ["data/sublink/../a.wav", "via/missing.wav", "data/sub/../../via/a.wav", f"{tmp_path}/via/sub/b.wav"]
    found = await discover(spelled)
    assert [(s.path, s.key, s.rel) for s in found] == [
        ("data/a.wav", f"{real}/data/a.wav", "a.wav"),
        ("data/a.wav", f"{real}/data/a.wav", "a.wav"),
        ("via/a.wav", f"{real}/data/a.wav", "a.wav"),
        ("via/sub/b.wav", f"{real}/data/sub/b.wav", "b.wav"),
        ("data/sublink/b.wav", f"{real}/data/sub/b.wav", "b.wav"),
        ("via/ln.wav", f"{real}/data/sub/b.wav", "ln.wav"),
        ("data/sublink/../a.wav", f"{real}/data/a.wav", "a.wav"),  # '..' of the link's target
        ("via/missing.wav", f"{real}/data/missing.wav", "missing.wav"),
        ("data/sub/../../via/a.wav", f"{real}/data/a.wav", "a.wav"),
        (f"{tmp_path}/via/sub/b.wav", f"{real}/data/sub/b.wav", "b.wav"),
    ]
    assert all(s.key == str(Path(s.path).resolve()) for s in found)


async def test_relative_files_named_after_a_change_of_directory_keep_their_own_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path, "one/a.wav", "two/a.wav")
    real = tmp_path.resolve()

    async def names() -> AsyncIterable[str]:
        for folder in ("one", "two", "one"):
            monkeypatch.chdir(tmp_path / folder)  # a caller's change of directory between two names
            yield "a.wav"

    assert [s.key for s in await discover(names())] == [f"{real}/one/a.wav", f"{real}/two/a.wav", f"{real}/one/a.wav"]


async def test_keys_resolved_one_by_one_where_paths_are_not_posix_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fallback (``resolve`` per file and folder, as on Windows) walks the same files under the same keys."""
    touch(tmp_path / "data", "a.wav", "sub/b.wav", "out/c.wav", "sub/out/d.wav")
    (tmp_path / "data" / "link.wav").symlink_to("sub/b.wav")
    (tmp_path / "in").symlink_to("data")
    inputs = [tmp_path / "in", tmp_path / "in" / "a.wav", tmp_path / "in" / "link.wav", tmp_path / "missing.wav"]
    skip = (tmp_path / "data" / "out").resolve()
    joined = await discover(inputs, skip_dir=skip)
    monkeypatch.setattr(_sources, "_JOIN_KEYS", False)
    assert await discover(inputs, skip_dir=skip) == joined
    assert [s.rel for s in joined] == [
        "a.wav",
        "link.wav",
        "sub/b.wav",
        "sub/out/d.wav",
        "a.wav",
        "link.wav",
        "missing.wav",
    ]


# -- what is walked, in which order ----------------------------------------------------------------


async def test_sorted_order_files_of_a_folder_before_its_sub_folders(tmp_path: Path) -> None:
    touch(tmp_path / "in", "b.wav", "B.wav", "a.wav", "z/a.wav", "a/z.wav", "a/b/c.wav", "a/a.wav", "A/x.wav", "m.wav")
    assert rels(await discover(tmp_path / "in")) == [
        "B.wav",
        "a.wav",
        "b.wav",
        "m.wav",
        "A/x.wav",
        "a/a.wav",
        "a/z.wav",
        "a/b/c.wav",
        "z/a.wav",
    ]


async def test_batches_hold_256_inputs_in_order(tmp_path: Path) -> None:
    touch(tmp_path / "in", *(f"d{i // 100}/f{i:04d}.wav" for i in range(600)))
    batches = [b async for b in iter_source_batches(tmp_path / "in")]
    assert [len(b) for b in batches] == [256, 256, 88]
    assert [s.rel for b in batches for s in b] == [f"d{i // 100}/f{i:04d}.wav" for i in range(600)]


async def test_hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "in", "a.wav", ".b.wav", ".hidden/c.wav", "s/.d.wav", "s/e.wav", "s/.t/f.wav")
    assert rels(await discover(tmp_path / "in")) == ["a.wav", "s/e.wav"]


async def test_the_output_folder_is_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "in", "a.wav", "out/a.alice.wav", "out/sub/b.alice.wav", "outer/c.wav")
    skip = (tmp_path / "in" / "out").resolve()
    assert rels(await discover(tmp_path / "in", skip_dir=skip)) == ["a.wav", "outer/c.wav"]
    (tmp_path / "via").symlink_to(tmp_path / "in")  # the same folder reached through a symlinked input
    assert rels(await discover(tmp_path / "via", skip_dir=skip)) == ["a.wav", "outer/c.wav"]
    assert len(await discover(tmp_path / "in")) == 4


async def test_an_unreadable_folder_is_a_failed_input_where_its_files_would_be(
    tmp_path: Path, unreadable: set[str]
) -> None:
    touch(tmp_path / "in", "a.wav", "b/x.wav", "c/y.wav", "c/d/z.wav")
    unreadable.update({str(tmp_path / "in" / "b"), str(tmp_path / "in" / "c" / "d")})
    found = await discover(tmp_path / "in")
    assert [(s.rel, s.error) for s in found] == [
        ("a.wav", None),
        ("b", "cannot read the directory: Permission denied"),
        ("c/y.wav", None),
        ("c/d", "cannot read the directory: Permission denied"),
    ]
    assert found[1].path == str(tmp_path / "in" / "b") and found[1].key == str((tmp_path / "in" / "b").resolve())
    unreadable.add(str(tmp_path / "in"))
    (root,) = await discover(tmp_path / "in")
    assert (root.rel, root.path, root.error) == (
        "in",
        str(tmp_path / "in"),
        "cannot read the directory: Permission denied",
    )


# -- globs -----------------------------------------------------------------------------------------


async def test_globs_match_names_and_relative_paths_case_insensitively(tmp_path: Path) -> None:
    touch(tmp_path / "in", "a.WAV", "b.Flac", "c.txt", "Keep/d.wav", "keep/E.MP3", "skip/f.wav", "x/Skip/g.ogg")
    everything = ["a.WAV", "b.Flac", "Keep/d.wav", "keep/E.MP3", "skip/f.wav", "x/Skip/g.ogg"]
    assert rels(await discover(tmp_path / "in")) == everything  # DEFAULT_INCLUDE, whatever the case
    assert DEFAULT_INCLUDE == ("*.wav", "*.flac", "*.mp3", "*.ogg")
    assert rels(await discover(tmp_path / "in", include=["*.TXT"])) == ["c.txt"]
    assert rels(await discover(tmp_path / "in", include=["KEEP/*"])) == ["Keep/d.wav", "keep/E.MP3"]  # the path
    assert rels(await discover(tmp_path / "in", include=["?.wav"])) == ["a.WAV", "Keep/d.wav", "skip/f.wav"]  # names
    assert rels(await discover(tmp_path / "in", exclude=["SKIP/*"])) == [*everything[:4], "x/Skip/g.ogg"]
    assert rels(await discover(tmp_path / "in", exclude=["*skip*"])) == everything[:4]
    assert rels(await discover(tmp_path / "in", exclude=["[a-c].*", "*/e.mp3"])) == ["Keep/d.wav", *everything[4:]]
    assert rels(await discover(tmp_path / "in", include=["*a*v*", "*.ogg"], exclude=["keep/*"])) == [
        "a.WAV",
        "skip/f.wav",
        "x/Skip/g.ogg",
    ]
    assert await discover(tmp_path / "in", include=[]) == []


# -- validation ------------------------------------------------------------------------------------


def convert_job(tmp_path: Path, **kwargs: Any) -> BatchConvertJob:
    client = VoiceClient(api_key="k" * 32, base_url="http://127.0.0.1:9")  # nothing is sent
    job = BatchConvertJob(client, tmp_path / "in", ["Alice", "Bob"], tmp_path / "out", **kwargs)
    job.job_id = "f" * 32
    return job


async def test_validation_makes_the_items_the_journal_stores(tmp_path: Path, unreadable: set[str]) -> None:
    touch(tmp_path / "in", "Take 1 (final).wav", "d/e/clip.v2.wav", "plain-name.wav")
    (tmp_path / "in" / "d" / "bad.wav").write_bytes(b"not audio")
    (tmp_path / "in" / "u").mkdir()
    unreadable.add(str(tmp_path / "in" / "u"))
    found = await discover(tmp_path / "in")
    real = str(tmp_path.resolve())

    def marker(named: bool, rel: str, key: str) -> str:  # a named job's markers do not depend on where inputs are
        return hashlib.sha256(f"{'f' * 32}\0{rel if named else key}".encode()).hexdigest()[:10]

    for mirror in (False, True):
        for named in (False, True):
            job = convert_job(tmp_path, mirror_tree=mirror, job_id="batch" if named else None)
            job.job_id = "f" * 32
            items = {i.rel: i for i in job._validate(found)}
            assert list(items) == ["Take 1 (final).wav", "plain-name.wav", "d/bad.wav", "d/e/clip.v2.wav", "u"]
            take = items["Take 1 (final).wav"]
            assert take == NewItem(
                key=f"{real}/in/Take 1 (final).wav",
                name="Take 1 (final).wav",
                source=str(tmp_path / "in" / "Take 1 (final).wav"),
                rel="Take 1 (final).wav",
                rel_dir="",
                label=f"Take 1 final {marker(named, 'Take 1 (final).wav', take.key)}",
                size=len(wav_bytes(0.01)),
                duration=0.01,
                n_targets=2,
            )
            clip = items["d/e/clip.v2.wav"]
            assert clip.rel_dir == ("d/e" if mirror else "") and clip.error is None
            assert clip.label == f"clip v2 {marker(named, 'd/e/clip.v2.wav', clip.key)}"
            plain = items["plain-name.wav"]
            assert plain.label == f"plain-name {marker(named, 'plain-name.wav', plain.key)}"
            bad = items["d/bad.wav"]
            assert (bad.error, bad.size, bad.rel_dir) == (
                "not wav, ogg, mp3 or flac audio (judged by content)",
                None,
                "d" if mirror else "",
            )
            assert items["u"].error == "cannot read the directory: Permission denied" and items["u"].size is None


def test_validation_reports_unreadable_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    job = convert_job(tmp_path, max_file_size=100)
    touch(tmp_path / "in", "big.wav")
    (tmp_path / "in" / "empty.wav").write_bytes(b"")
    (tmp_path / "in" / "folder.wav").mkdir()
    sources = [
        SourceFile(str(tmp_path / "in" / n), str(tmp_path / "in" / n), n)
        for n in ("missing.wav", "big.wav", "empty.wav", "folder.wav")
    ]
    assert [i.error for i in job._validate(sources)] == [
        "cannot read: No such file or directory",
        f"file is {len(wav_bytes(0.01))} bytes; the limit is 100",
        "empty file",
        "cannot read: Is a directory",
    ]


@pytest.mark.parametrize(
    "rel", ["a.wav", "d/a.b.wav", "x/.wav", "x/a.", "x/..", ".", "..", "a", "d/e/f", "a.tar.gz", "é/ü.WAV", "s p/a b"]
)
def test_stem_of_is_the_stem_pathlib_gives(rel: str) -> None:
    assert stem_of(rel) == PurePosixPath(rel).stem


@pytest.mark.parametrize(
    "base", ["f0000001", "take-2", "-", "a" * 45, "a b", "ünï", "", "  x  ", "x" * 28 + " y", "a_b", "A-Z-09"]
)
def test_marked_label_plain_names_as_sanitize_label_makes_them(base: str) -> None:
    marker = hashlib.sha256(b"job\0key").hexdigest()[:10]
    assert marked_label(base, "job", "key") == f"{sanitize_label(base, fallback='item')[:29].rstrip()} {marker}"
    assert len(marked_label(base, "job", "key")) <= 40


# -- the WAV header read from the head ---------------------------------------------------------------


def _chunk(rng: random.Random) -> bytes:
    kind = rng.choice(["fmt", "fmt", "data", "data", "junk", "LIST", "zero"])
    if kind == "fmt":
        size = rng.choice([16, 16, 18, 17, 15, 40, 0, 3])
        body = struct.pack("<HHIIHH", 1, rng.choice([0, 1, 2]), rng.choice([0, 8000]), rng.choice([0, 16000]), 2, 16)
        body = (body + bytes(size))[:size]
    elif kind == "data":
        size = rng.choice([0, 1, 2, 16, 333, 5000])
        body = bytes(size)
    elif kind == "LIST":
        size = rng.choice([4090, 5000, 100])
        body = bytes(size)
    else:
        size = rng.choice([0, 1, 7])
        body = bytes(size)
    name = {"fmt": b"fmt ", "data": b"data", "LIST": b"LIST", "junk": b"junk", "zero": b"\0\0\0\0"}[kind]
    declared = size if rng.random() < 0.85 else rng.choice([size + 100, 0xFFFFFFFF, max(0, size - 5)])
    return name + struct.pack("<I", declared) + body + (b"\0" if size % 2 and rng.random() < 0.8 else b"")


def _reference_wav_duration(f: Any, size: int) -> float:
    """The chunk walk through a file object, as ``probe_audio`` made it before reading from the head (the oracle)."""
    f.seek(12)
    byte_rate = 0
    for _ in range(64):
        header = f.read(8)
        if len(header) < 8:
            break
        chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk_id == b"fmt ":
            body = f.read(chunk_size)
            if len(body) < 16:
                raise CorruptAudioError("corrupt WAV: short fmt chunk")
            _fmt, channels, rate, byte_rate, _align, _bits = struct.unpack("<HHIIHH", body[:16])
            if not channels or not rate or not byte_rate:
                raise CorruptAudioError("corrupt WAV: zero channels, rate or byte rate")
            if chunk_size % 2:
                f.seek(1, 1)
        elif chunk_id == b"data":
            if not byte_rate:
                raise CorruptAudioError("corrupt WAV: data before fmt")
            available = size - f.tell()
            return round(min(int(chunk_size), available) / float(byte_rate), 3)
        else:
            f.seek(chunk_size + (chunk_size % 2), 1)
    raise CorruptAudioError("corrupt WAV: no fmt/data chunks")


def _outcome(function: Any, *args: Any) -> object:
    try:
        return function(*args)
    except ValueError as exc:  # CorruptAudioError included
        return (type(exc).__name__, str(exc))


def _probed_as_before(data: bytes) -> object:
    """What ``probe_audio`` made of a WAV's bytes when it read them through a file object (the reference)."""
    head = data[:4096]
    if not data:
        raise ValueError("empty file")
    fmt = sniff_audio_format(head[:12])
    if fmt is None:
        raise ValueError("not wav, ogg, mp3 or flac audio (judged by content)")
    problem = audio_without_data(head, len(data))
    if problem is not None:
        raise CorruptAudioError(f"corrupt {fmt.name}: {problem}")
    return (fmt, len(data), _reference_wav_duration(io.BytesIO(data), len(data)))


def _canonical(rng: random.Random) -> bytes:
    """The usual 44-byte header with fields that may be zero or lie, then some data, maybe cut short."""
    fmt = struct.pack("<HHIIHH", 1, rng.choice([0, 1, 2]), rng.choice([0, 8000]), rng.choice([0, 16000, 3]), 2, 16)
    data = bytes(rng.choice([0, 1, 2, 100, 5000]))
    declared = rng.choice([len(data), len(data) + 50, 0, 0xFFFFFFFF])
    body = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0" + fmt + b"data" + struct.pack("<I", declared) + data
    return body[: rng.randint(12, len(body))] if rng.random() < 0.2 else body


def test_wav_durations_from_the_head_are_those_read_from_the_file() -> None:
    """Random chunk layouts, truncations and lying sizes: the walk by positions answers as the file object's did,
    and most layouts need nothing past the head."""
    rng = random.Random(20261127)
    from_head = 0
    for _ in range(3000):
        data = b"RIFF\0\0\0\0WAVE" + b"".join(_chunk(rng) for _ in range(rng.randint(0, 5)))
        if rng.random() < 0.3:
            data = data[: rng.randint(12, len(data))]
        size = len(data)
        past_head: list[int] = []

        def read(pos: int, n: int, data: bytes = data, past_head: list[int] = past_head) -> bytes:
            n = min(n, len(data) - pos)  # as ``_head_first``: never more than the file holds
            if n <= 0:
                return b""
            if pos + n > 4096:
                past_head.append(pos)
            return data[pos : pos + n]

        expected = _outcome(_reference_wav_duration, io.BytesIO(data), size)
        got = _outcome(_wav_duration, read, size)
        if not past_head:
            from_head += 1
        assert got == expected, data[:80]
    assert from_head > 2000  # most layouts are answered from the head


def test_probe_makes_of_every_wav_what_it_made_through_a_file_object(tmp_path: Path) -> None:
    """Usual headers, other layouts (walked in the head, or past it in the file), large files (fstat'ed)."""
    rng = random.Random(11)
    for i in range(400):
        data = (
            _canonical(rng) if i % 2 else b"RIFF\0\0\0\0WAVE" + b"".join(_chunk(rng) for _ in range(rng.randint(0, 4)))
        )
        path = tmp_path / f"{i}.wav"
        path.write_bytes(data)
        got = _outcome(probe_audio, path)
        assert (got if isinstance(got, tuple) else (got.format, got.size, got.duration)) == _outcome(
            _probed_as_before, data
        ), data[:60]


def test_probe_reads_the_file_when_the_chunks_reach_past_the_head(tmp_path: Path) -> None:
    pcm = wav_bytes(0.25)
    fmt, data = pcm[12:36], pcm[36:]
    for filler in (100, 4050, 4100, 9000):
        path = tmp_path / f"list{filler}.wav"
        path.write_bytes(pcm[:12] + b"LIST" + struct.pack("<I", filler) + bytes(filler) + fmt + data)
        assert probe_audio(path).duration == 0.25
    path = tmp_path / "late-fmt.wav"  # fmt past the head; the data chunk before it
    path.write_bytes(pcm[:12] + data + b"LIST" + struct.pack("<I", 5000) + bytes(5000) + fmt)
    with pytest.raises(CorruptAudioError, match="data before fmt"):
        probe_audio(path)

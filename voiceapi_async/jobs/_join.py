"""One output file per long text: the parts a TTS text was split into (``<n>.1``, ``<n>.2``, ...) joined.

The API speaks at most 1,000 characters at a time, so a long text is several items; once
every part of a text is downloaded, their files (per target) are joined where the format
allows it: WAV, frames concatenated with the standard ``wave`` module when every part has
the same channels, sample width and rate.  The journal then points each part's output at
the joined file (so a re-run neither downloads nor joins again) and the part files are
removed, unless ``keep_parts``.  Other formats keep their parts.
"""

from __future__ import annotations

import os
import uuid
import wave
from collections.abc import Sequence
from pathlib import Path

__all__ = ["join_wav", "remove_files", "text_key"]

_FRAMES = 1 << 16


def text_key(part_key: str) -> str:
    """``"12.3"`` -> ``"12"``: the key of the text a part belongs to."""
    return part_key.rsplit(".", 1)[0]


def join_wav(parts: Sequence[Path], destination: Path) -> int | None:
    """Concatenate the frames of WAV ``parts`` into ``destination`` (atomically); its size, or ``None``.

    ``None``: the parts are not WAV files of one format (nothing is written).  Blocking:
    run it in a worker thread.
    """
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        first = None
        for path in parts:
            with wave.open(str(path), "rb") as reader:
                params = reader.getparams()
                shape = (params.nchannels, params.sampwidth, params.framerate, params.comptype)
                if first is None:
                    first = shape
                elif shape != first:
                    return None
        with wave.open(str(partial), "wb") as writer:
            for n, path in enumerate(parts):
                with wave.open(str(path), "rb") as reader:
                    if n == 0:
                        writer.setparams(reader.getparams())
                    while frames := reader.readframes(_FRAMES):
                        writer.writeframes(frames)
        os.replace(partial, destination)
        return destination.stat().st_size
    except (wave.Error, EOFError):
        return None
    finally:
        partial.unlink(missing_ok=True)


def remove_files(paths: Sequence[str]) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)

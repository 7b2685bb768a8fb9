"""Ids and lookups the emulator precomputes give what the straightforward code gives."""

from __future__ import annotations

import random
import uuid

from voiceapi_async.emulator._catalogue import Catalogue, uuid4_text


def test_uuid4_text_is_the_text_of_a_version_4_uuid() -> None:
    rng = random.Random(7)
    for bits in [0, (1 << 128) - 1, *(rng.getrandbits(128) for _ in range(2000))]:
        assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))


def test_default_accent_of_every_voice() -> None:
    cat = Catalogue(seed=3, count=60)
    for voice in cat.voices:
        assert cat.default_accent[voice.id] == (voice.default_accent() or voice.accents[0]).id

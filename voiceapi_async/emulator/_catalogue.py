"""The voice catalogue: a few named voices that never change, then seeded ones varied enough to exercise filters.

The named voices (``NAMED_VOICES``) are the ones the README, the docs and the examples
use: whatever the seed, the catalogue starts with them, with the same ids and settings,
so a documented ``--voice Aurora`` works against any emulator.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from voiceapi_async._models import (
    Accent,
    AccentInfo,
    AccentSettings,
    AgeGroup,
    Gender,
    NarrationStyle,
    NarrationStyleInfo,
    NarrationStyleSettings,
    PitchGroup,
    Species,
    Tier,
    TTSVoice,
    TTSVoiceVisibility,
    Visibility,
    Voice,
)

__all__ = ["NAMED_VOICES", "Catalogue", "uuid4_text"]

_FIRST = [
    "Amber",
    "Basil",
    "Cedar",
    "Dahlia",
    "Ember",
    "Fern",
    "Garnet",
    "Hazel",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Linden",
    "Maple",
    "Nova",
    "Onyx",
    "Pepper",
    "Quill",
    "Rowan",
    "Sage",
    "Tansy",
    "Umber",
    "Violet",
    "Willow",
    "Xenia",
    "Yarrow",
    "Zephyr",
    "Aspen",
    "Briar",
    "Clover",
    "Dune",
]
_SECOND = ["Stone", "River", "Brook", "Field", "Vale", "Ridge", "Meadow", "Harbor", "Grove", "Wren"]
_ACCENTS = (
    ("English (US)", "EN-US", "en-US"),
    ("English (UK)", "EN-GB", "en-GB"),
    ("Spanish", "ES", "es-ES"),
    ("French", "FR", "fr-FR"),
    ("German", "DE", "de-DE"),
    ("Ukrainian", "UK", "uk-UA"),
)
_STYLES = ("Neutral", "Narration", "Excited", "Calm", "Whisper")
#: Each style's ``tags`` (how the vendor's TTS helper picks a style): its own name first.
_STYLE_TAGS = {
    "Neutral": ("neutral", "conversational"),
    "Narration": ("narration", "audiobook", "storytelling"),
    "Excited": ("excited", "energetic", "advertising"),
    "Calm": ("calm", "soothing", "audiobook"),
    "Whisper": ("whisper", "soft", "asmr"),
}
_NATIONALITIES = ("american", "british", "canadian", "ukrainian", "spanish", "french", "german", "australian")
_TIERS = ("basic", "pro", "premium")
_OWNER = "00000000-0000-4000-8000-00000000a11c"

#: name, gender, pitch, accents (indexes into ``_ACCENTS``, the native one first), narration styles
_NAMED: tuple[tuple[str, Gender, float, tuple[int, ...], tuple[str, ...]], ...] = (
    ("Aurora", Gender.FEMALE, 4.0, (0, 1), ("Neutral", "Narration")),
    ("Basil Stone", Gender.MALE, -4.0, (1, 0), ("Neutral", "Calm")),
    ("Celeste", Gender.FEMALE, 2.0, (3, 0), ("Neutral", "Whisper")),
    ("Orion", Gender.MALE, -2.0, (0, 4), ("Neutral", "Excited")),
)
#: The voices every emulator catalogue starts with, whatever its seed.
NAMED_VOICES: tuple[str, ...] = tuple(n[0] for n in _NAMED)


class Catalogue:
    """Voices, accents, narration styles and TTS voices, with O(1) lookups by id."""

    def __init__(self, seed: int, count: int) -> None:
        rng = random.Random(f"catalogue-{seed}")

        def new_id() -> str:
            return _uuid(rng)

        names = [f"{a} {b}" for b in _SECOND for a in _FIRST if f"{a} {b}" not in NAMED_VOICES]
        rng.shuffle(names)
        self.voices: list[Voice] = []
        self.voice_by_id: dict[str, Voice] = {}
        self.accent_owner: dict[str, str] = {}
        #: Each voice's default accent id (its first if none is marked), looked up per conversion ordered.
        self.default_accent: dict[str, str] = {}
        self.style_owner: dict[str, str] = {}
        named = random.Random("catalogue-named")  # not the seed: the named voices keep their ids
        for i, spec in enumerate(_NAMED[:count]):
            self._add(_named_voice(i, spec, lambda: _uuid(named)))
        first = len(self.voices)
        for i in range(first, count):
            j = i - first
            name = names[j % len(names)] + ("" if j < len(names) else f" {j // len(names) + 1}")
            gender = rng.choice(list(Gender))
            pitch = float(rng.randint(-8, 8))
            accents = [
                Accent(
                    id=new_id(),
                    info=AccentInfo(name=a[0], short_name=a[1], locale=a[2]),
                    is_default=j == 0,
                    native=j == 0,
                    tiers=[Tier(name=rng.choice(_TIERS))],
                    available=True,
                    settings=AccentSettings(),
                )
                for j, a in enumerate(rng.sample(_ACCENTS, rng.randint(1, 3)))
            ]
            styles = [_style(new_id(), s, j == 0) for j, s in enumerate(rng.sample(_STYLES, rng.randint(1, 3)))]
            voice = Voice(
                id=new_id(),
                name=name,
                owner_id=_OWNER,
                slug=name.lower().replace(" ", "-"),
                visibility=rng.choices(list(Visibility), weights=(6, 2, 1, 1))[0],
                species=rng.choices(list(Species), weights=(8, 1, 1))[0],
                artist=f"Artist {i + 1}",
                verified_artist=rng.random() < 0.5,
                gender=gender,
                pitch=pitch,
                age_group=rng.choice(list(AgeGroup)),
                pitch_group=PitchGroup.LOW if pitch < -3 else PitchGroup.HIGH if pitch > 3 else PitchGroup.MID,
                nationality=rng.choice(_NATIONALITIES),
                image_url=f"/static/voices/{i + 1}.png",
                thumbnail_url=f"/static/voices/{i + 1}-thumb.png",
                description=f"A {gender.value} voice, {name}.",
                rating=rng.randint(0, 5),
                created_at=_EPOCH + dt.timedelta(days=i * 3, seconds=rng.randint(0, 86399)),
                available=True,
                accents=accents,
                narration_styles=styles,
                tiers=[Tier(name=rng.choice(_TIERS))],
            )
            self._add(voice)
        self.tts_voices = [
            TTSVoice(
                id=new_id(),
                name=n,
                visibility=TTSVoiceVisibility.PUBLIC if k < 3 else TTSVoiceVisibility.PRIVATE,
                f0=f0,
                is_default=k == 0,
            )
            for k, (n, f0) in enumerate((("Aria", 210.0), ("Ben", 115.0), ("Chloe", 230.0), ("Dmytro", 105.0)))
        ]
        self.tts_by_id = {v.id: v for v in self.tts_voices}

    def _add(self, voice: Voice) -> None:
        self.voices.append(voice)
        self.voice_by_id[voice.id] = voice
        for a in voice.accents or ():
            self.accent_owner[a.id] = voice.id
        accent = voice.default_accent()
        if accent is not None:
            self.default_accent[voice.id] = accent.id
        for s in voice.narration_styles or ():
            self.style_owner[s.id] = voice.id


_EPOCH = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)


def _style(style_id: str, name: str, is_default: bool) -> NarrationStyle:
    return NarrationStyle(
        id=style_id,
        info=NarrationStyleInfo(name=name),
        is_default=is_default,
        tags=list(_STYLE_TAGS[name]),
        settings=NarrationStyleSettings(),
    )


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, the same text, without building a ``UUID`` (a third of the time)."""
    h = f"{bits & _UUID_CLEAR | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# The version (4) and variant (RFC 4122) bits, as ``uuid.UUID(version=4)`` sets them.
_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID_SET = (0x8000 << 48) | (4 << 76)


def _uuid(rng: random.Random) -> str:
    return uuid4_text(rng.getrandbits(128))


def _named_voice(
    i: int, spec: tuple[str, Gender, float, tuple[int, ...], tuple[str, ...]], new_id: Callable[[], str]
) -> Voice:
    """One of the fixed voices: public, available, every setting fixed."""
    name, gender, pitch, accent_indexes, styles = spec
    return Voice(
        id=new_id(),
        name=name,
        owner_id=_OWNER,
        slug=name.lower().replace(" ", "-"),
        visibility=Visibility.PUBLIC,
        species=Species.HUMAN,
        artist=f"Artist {name}",
        verified_artist=True,
        gender=gender,
        pitch=pitch,
        age_group=AgeGroup.ADULT,
        pitch_group=PitchGroup.LOW if pitch < -3 else PitchGroup.HIGH if pitch > 3 else PitchGroup.MID,
        nationality="american",
        image_url=f"/static/voices/{name.lower().replace(' ', '-')}.png",
        thumbnail_url=f"/static/voices/{name.lower().replace(' ', '-')}-thumb.png",
        description=f"A {gender.value} voice, {name}.",
        rating=5,
        created_at=_EPOCH + dt.timedelta(days=i),
        available=True,
        accents=[
            Accent(
                id=new_id(),
                info=AccentInfo(name=_ACCENTS[a][0], short_name=_ACCENTS[a][1], locale=_ACCENTS[a][2]),
                is_default=j == 0,
                native=j == 0,
                tiers=[Tier(name="basic")],
                available=True,
                settings=AccentSettings(),
            )
            for j, a in enumerate(accent_indexes)
        ],
        narration_styles=[_style(new_id(), n, j == 0) for j, n in enumerate(styles)],
        tiers=[Tier(name="basic")],
    )

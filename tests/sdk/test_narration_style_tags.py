"""Picking a voice's narration style by tags: matches, preference, and the typed error when none matches."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from voiceapi_async import InvalidRequestError, NarrationStyleNotFoundError, Voice


def _voice(*styles: tuple[str, list[str] | None, bool]) -> Voice:
    return msgspec.convert(
        {
            "id": "v1",
            "name": "Aurora",
            "narration_styles": [
                {"id": f"s{i}", "info": {"name": name}, "is_default": default, "tags": tags}
                for i, (name, tags, default) in enumerate(styles)
            ],
        },
        Voice,
    )


VOICE = _voice(
    ("Neutral", ["neutral", "conversational"], True),
    ("Narration", ["narration", "Audiobook"], False),
    ("Calm", ["calm", "audiobook", "soothing"], False),
    ("Untagged", None, False),
)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["calm"], "Calm"),
        (["AUDIOBOOK"], "Narration"),  # case-insensitive; several match: the first listed (none is default)
        (["audiobook", "soothing"], "Calm"),  # every tag must be there
        (("conversational",), "Neutral"),
        ([" calm "], "Calm"),
    ],
)
def test_the_style_carrying_every_tag(tags: Any, expected: str) -> None:
    assert VOICE.narration_style(tags=tags).info.name == expected


def test_the_default_style_wins_among_matches() -> None:
    voice = _voice(("A", ["warm"], False), ("B", ["warm"], True), ("C", ["warm"], False))
    assert voice.narration_style(tags=["warm"]).id == "s1"


def test_no_match_is_a_typed_error_listing_every_style() -> None:
    with pytest.raises(NarrationStyleNotFoundError) as info:
        VOICE.narration_style(tags=["calm", "excited"])
    err = info.value
    assert isinstance(err, InvalidRequestError) and isinstance(err, LookupError)
    assert err.voice_name == "Aurora" and err.tags == ("calm", "excited")
    assert err.available["Calm"] == ("calm", "audiobook", "soothing") and err.available["Untagged"] == ()
    assert "no narration style tagged calm, excited" in str(err) and "Untagged: no tags" in str(err)


def test_a_voice_without_styles_or_tags() -> None:
    with pytest.raises(NarrationStyleNotFoundError, match=r"its styles: none"):
        _voice().narration_style(tags=["calm"])
    with pytest.raises(NarrationStyleNotFoundError):
        _voice(("Plain", None, True)).narration_style(tags=["plain"])  # names are not tags


@pytest.mark.parametrize("tags", ["calm", [], [""], ["calm", 3]])
def test_bad_tags_say_what_to_fix(tags: Any) -> None:
    with pytest.raises(InvalidRequestError, match="non-empty list of non-empty strings") as info:
        VOICE.narration_style(tags=tags)
    assert not isinstance(info.value, NarrationStyleNotFoundError)

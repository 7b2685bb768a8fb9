"""Decoding is tolerant of what the server adds later; encoding omits what is unset."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from tests.sdk.samples import RECORDING, USER, VOICE, page
from voiceapi_async import (
    AccentSamples,
    ConversionTarget,
    Order,
    OrderState,
    RateLimits,
    Recording,
    RecordingState,
    TTSVoice,
    User,
    Voice,
)
from voiceapi_async._transport import decoder_for
from voiceapi_async.types import NarrationStyleSamples, OrderRequest, RecordingPage, TrustLevel, UserData, VoicePage


def test_unknown_fields_are_ignored_and_datetimes_decoded() -> None:
    raw = msgspec.json.encode({**RECORDING, "brand_new_field": {"nested": [1, 2]}})
    recording = decoder_for(Recording).decode(raw)
    assert recording.created_at == dt.datetime(2023, 10, 8, 16, 12, 55, 753000, tzinfo=dt.timezone.utc)
    assert not hasattr(recording, "brand_new_field")


def test_an_unknown_state_decodes_and_counts_as_in_progress() -> None:
    raw = msgspec.json.encode(page([{**RECORDING, "state": "postprocessing"}, {**RECORDING, "state": "done"}]))
    recordings = decoder_for(RecordingPage).decode(raw).list
    assert recordings[0].state == "postprocessing"
    assert not recordings[0].state.is_known
    assert not recordings[0].is_final
    assert recordings[1].state is RecordingState.DONE and recordings[1].is_final
    assert msgspec.json.decode(msgspec.json.encode(recordings[0]))["state"] == "postprocessing"


def test_unknown_enum_values_in_voices_and_orders() -> None:
    voice = {**VOICE, "visibility": "enterprise", "species": "synthetic", "gender": "nonbinary"}
    voices = decoder_for(VoicePage).decode(msgspec.json.encode(page([voice]))).list
    assert voices[0].visibility == "enterprise" and voices[0].gender == "nonbinary"
    order = decoder_for(Order).decode(
        b'{"id":"1","original_id":"2","conversion_id":"3","state":"queued","created_at":"2024-01-01T00:00:00Z"}'
    )
    assert order.state == "queued" and not order.state.is_final
    assert OrderState("done").is_final


def test_missing_optional_fields_default_to_none() -> None:
    minimal = decoder_for(Recording).decode(b'{"id":"r","project_id":"p","type":"original","state":"done"}')
    assert minimal.url is None and minimal.note is None and minimal.duration == 0


def test_encoding_omits_unset_fields() -> None:
    body = OrderRequest(original_id="o", conversions=[ConversionTarget(voice_id="v", semitones_correction=0)])
    assert msgspec.json.decode(msgspec.json.encode(body)) == {
        "original_id": "o",
        "conversions": [{"voice_id": "v", "semitones_correction": 0}],
    }


def test_decoders_are_cached_per_type() -> None:
    assert decoder_for(Recording) is decoder_for(Recording)
    assert decoder_for(list[Order]) is decoder_for(list[Order])


# -- legal answers our emulator never sent (issue 9) ----------------------------------


def test_tts_voices_with_null_name_and_default_decode() -> None:
    raw = b'[{"id": "t1", "name": null, "is_default": null, "visibility": null, "f0": null}, {"id": "t2"}]'
    voices = decoder_for(list[TTSVoice]).decode(raw)
    assert [(v.id, v.name, v.is_default) for v in voices] == [("t1", None, None), ("t2", None, None)]


def test_samples_may_be_null_or_absent() -> None:
    assert decoder_for(AccentSamples).decode(b'{"samples": null}').samples is None
    assert decoder_for(AccentSamples).decode(b"{}").samples is None
    assert decoder_for(NarrationStyleSamples).decode(b'{"samples": {"a": "u"}}').samples == {"a": "u"}


def test_narration_styles_carry_tags_and_may_lack_info() -> None:
    styles = [
        {"id": "n1", "is_default": False, "tags": ["calm", "audiobook"]},
        {"id": "n2", "is_default": True, "info": None, "tags": None, "settings": None},
        {"id": "n3", "is_default": False, "info": {"name": "lively"}},
    ]
    accents = [{"id": "a1", "is_default": True, "native": True, "tiers": [], "available": None, "settings": None}]
    raw = msgspec.json.encode({**VOICE, "narration_styles": styles, "accents": accents, "favorite": None})
    voice = decoder_for(Voice).decode(raw)
    assert [s.tags for s in voice.narration_styles] == [["calm", "audiobook"], None, None]
    assert [s.name for s in voice.narration_styles] == [None, None, "lively"]
    assert voice.default_narration_style() is voice.narration_styles[1]
    assert voice.accents[0].info is None and voice.accents[0].name is None and voice.favorite is None


def test_the_user_data_block_is_modelled_in_full() -> None:
    data = {
        "stripe": {"customer_id": "cus_1", "subscription_status": "active", "subscription_active": True},
        "calibration": {"calibration_id": "c1", "f0": 120.5},
        "bucket": "b",
        "promo": {"code": "X", "stripe_promo_codes_used": {"a": "b"}},
        "t_level": "green",
        "domain_info": {"profession": "actor", "industry": "film"},
        "model_scope": {"m1": True},
        "credit_limit": True,
        "moderate_originals": False,
        "run_moderation_in_parallel": True,
        "rate_limits": {"fast": {"times": 50, "seconds": 60}},
        "permissions": {"download": True, "access_level": "full"},
        "open_id": {"sub": "s", "provider": "google"},
        "local_storage": {"k": [1]},
        "demo_wizard": {"show": False, "project_id": None},
        "experimental": True,
        "marketing": {"google_id": None},
        "advanced_settings": {"denoise": True, "pipeline": "fast", "emotional_scale": 1.5},
    }
    user = decoder_for(User).decode(msgspec.json.encode({**USER, "data": data}))
    assert user.data is not None
    assert set(type(user.data).__struct_fields__) == set(data)  # the 18 fields of the OpenAPI
    assert user.data.calibration is not None and user.data.calibration.calibration_id == "c1"
    assert user.data.t_level is TrustLevel.GREEN and user.data.permissions is not None
    assert user.data.permissions.download is True and user.data.permissions.can_read is True
    assert user.data.stripe is not None and user.data.stripe.subscription_active is True
    limits = user.data.rate_limits
    assert limits is not None
    assert (limits.fast.times, limits.fast.seconds) == (50, 60)
    assert (limits.slow.times, limits.slow.seconds) == (100, 300)  # the documented default


@pytest.mark.parametrize(
    ("rate_limits", "fast", "slow"),
    [
        ({}, (500, 300), (100, 300)),
        ({"slow": {"times": 7, "seconds": 10}}, (500, 300), (7, 10)),
        ({"fast": {"times": 9, "seconds": 1}}, (9, 1), (100, 300)),
    ],
)
def test_a_partial_rate_limits_falls_back_per_bucket(
    rate_limits: dict[str, Any], fast: tuple[int, int], slow: tuple[int, int]
) -> None:
    user = decoder_for(User).decode(msgspec.json.encode({**USER, "data": {"rate_limits": rate_limits}}))
    limits = RateLimits.from_user(user)
    assert limits.fast is not None and limits.slow is not None
    assert (limits.fast.times, limits.fast.seconds) == fast
    assert (limits.slow.times, limits.slow.seconds) == slow


def test_every_optional_user_data_field_may_be_null() -> None:
    nulls = dict.fromkeys(UserData.__struct_fields__)
    user = decoder_for(User).decode(msgspec.json.encode({**USER, "first_name": None, "data": nulls}))
    assert user.data == UserData(**nulls)


@pytest.mark.parametrize(
    "stamp",
    [
        "2023-10-08T16:12:55Z",
        "2023-10-08T16:12:55.753Z",
        "2023-10-08T16:12:55.753123+02:00",
        "2023-10-08T16:12:55-05:30",
        "2023-10-08T16:12:55.7",
        "2023-10-08T16:12:55",
    ],
)
def test_datetimes_with_or_without_fractions_and_offsets(stamp: str) -> None:
    recording = decoder_for(Recording).decode(msgspec.json.encode({**RECORDING, "created_at": stamp}))
    assert recording.created_at is not None
    assert recording.created_at.replace(tzinfo=None, microsecond=0) == dt.datetime(2023, 10, 8, 16, 12, 55)

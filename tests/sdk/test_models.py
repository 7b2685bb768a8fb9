"""Decoding is tolerant of what the server adds later; encoding omits what is unset."""

from __future__ import annotations

import datetime as dt

import msgspec

from tests.sdk.samples import RECORDING, VOICE, page
from voiceapi_async import ConversionTarget, Order, OrderState, Recording, RecordingState
from voiceapi_async._transport import decoder_for
from voiceapi_async.types import OrderRequest, RecordingPage, VoicePage


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

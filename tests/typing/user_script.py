"""What a user's ``mypy --strict`` must see from the installed package: real types, not ``Any``.

Never run, only type-checked (``make typecheck-wheel``, against the built wheel): each
``assert_type`` fails the check if the type mypy infers differs, and ``--strict``
(``no_implicit_reexport``) fails on any name the package does not export statically.
"""

from __future__ import annotations

from typing_extensions import assert_type

import voiceapi_async
from voiceapi_async import (
    APIStatusError,
    ConversionTarget,
    CreditBalance,
    RateLimit,
    RateLimits,
    Recording,
    RecordingState,
    RetryPolicy,
    Timeout,
    Voice,
    VoiceClient,
)
from voiceapi_async.types import AccentInfo, AsyncPage, AsyncPaginator, OrderRequest, Page, Pagination, VoicePage


async def main() -> None:
    async with VoiceClient(api_key="k", timeout=Timeout(total=30), retry=RetryPolicy(max_retries=2)) as client:
        assert_type(client, VoiceClient)
        voices = client.voices.list(limit=5)
        assert_type(voices, AsyncPaginator[Voice])
        page = await voices
        assert_type(page, AsyncPage[Voice])
        assert_type(page.has_next_page(), bool)
        if page.has_next_page():
            assert_type(await page.next_page(), AsyncPage[Voice])
        voice = page.list[0]
        assert_type(voice, Voice)
        async for each in client.recordings.list(folder_id="f", limit=200):
            assert_type(each, Recording)
        async for one_page in client.projects.list().iter_pages():
            assert_type(one_page.pagination, Pagination)
        assert_type(voice.accents[0].info, AccentInfo | None)  # optional: models accept absence and null

        target = ConversionTarget(voice_id=voice.id, label="take one")
        orders = await client.orders.create("00000000-0000-0000-0000-000000000000", [target])
        recording = await client.recordings.get(orders[0].conversion_id)
        assert_type(recording, Recording)
        assert_type(recording.state, RecordingState)

        assert_type(await client.credits.get(), CreditBalance)
        user = await client.auth.me()
        if user.data is not None and user.data.rate_limits is not None:
            assert_type(user.data.rate_limits.fast, RateLimit)
        assert_type(RateLimits.from_user(user), RateLimits)

        try:
            await client.stats.get()
        except APIStatusError as exc:
            assert_type(exc.status_code, int)

    assert_type(voiceapi_async.__version__, str)
    assert_type(OrderRequest(original_id="x", conversions=[target]).conversions, list[ConversionTarget])
    assert_type(Pagination().count, int)
    empty: VoicePage = Page[Voice]()
    assert_type(empty.list, list[Voice])

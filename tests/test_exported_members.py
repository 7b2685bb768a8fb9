"""The public surface is deliberate: a name is added to or removed from it on purpose.

Like httpx's ``test_exported_members``: every exported name exists and is public, every
public name of the module is exported, and the lists equal the ones written here, so a
change to them shows up in review.  The ``__all__`` lists must stay literal (no ``*``
imports or computed lists): type checkers only follow static re-exports.
"""

from __future__ import annotations

import ast
import inspect
import types
from pathlib import Path

import pytest

import voiceapi_async
import voiceapi_async._models
import voiceapi_async.types

TOP_LEVEL = {
    # the client and its configuration
    "DEFAULT_BASE_URL",
    "VoiceClient",
    "RateLimiter",
    "RateLimits",
    "RetryPolicy",
    "Timeout",
    "__version__",
    # errors
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "InsufficientCreditsError",
    "InternalServerError",
    "InvalidRequestError",
    "MissingCredentialsError",
    "NarrationStyleNotFoundError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PoolTimeoutError",
    "RateLimitError",
    "RateLimitStoreError",
    "RedirectError",
    "UnknownVoiceError",
    "UnprocessableEntityError",
    "UnsupportedAudioError",
    "VoiceAPIError",
    # observing calls, files
    "HTTPEvent",
    "RawResponse",
    "capture_response",
    "DownloadedFile",
    "AudioFormat",
    "sniff_audio_format",
    "sanitize_label",
    # models users construct or receive
    "ConversionTarget",
    "AccentSamples",
    "ApiKey",
    "Calibration",
    "CreditBalance",
    "DeletedId",
    "Folder",
    "FolderStats",
    "LoginResponse",
    "Note",
    "OkResponse",
    "Order",
    "Project",
    "ProjectStats",
    "RateLimit",
    "Recording",
    "TTSVoice",
    "User",
    "UserStats",
    "Voice",
    # the enums filters take and answers carry
    "AgeGroup",
    "CalibrationState",
    "Direction",
    "Gender",
    "OrderState",
    "PitchGroup",
    "ProjectSortField",
    "RecordingState",
    "RecordingType",
    "Species",
    "TTSVoiceVisibility",
    "Visibility",
    "VoiceSortField",
}

#: In ``voiceapi_async.types`` besides every model of ``voiceapi_async._models``.
TYPES_EXTRA = {
    "AnswerHook",
    "AsyncPage",
    "AsyncPaginator",
    "AudioFormat",
    "AudioSource",
    "ByteStream",
    "EventHook",
    "HTTPEvent",
    "RawResponse",
}


def _public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }


@pytest.mark.parametrize("module", [voiceapi_async, voiceapi_async.types], ids=lambda m: m.__name__)
def test_every_exported_name_exists_and_is_public(module: types.ModuleType) -> None:
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists {name!r}, which does not exist"
        assert not name.startswith("_") or name == "__version__", f"{name!r} is private"
    assert _public_names(module) <= set(module.__all__), "a public name is not in __all__ (export it or hide it)"


def test_top_level_names_are_the_expected_ones() -> None:
    assert set(voiceapi_async.__all__) == TOP_LEVEL


def test_types_holds_every_model() -> None:
    assert set(voiceapi_async.types.__all__) == set(voiceapi_async._models.__all__) | TYPES_EXTRA


def test_the_credits_model_and_resource_do_not_share_a_name() -> None:
    from voiceapi_async._resources import Credits

    assert "Credits" not in voiceapi_async.types.__all__
    assert Credits.get.__annotations__["return"] == "CreditBalance"


@pytest.mark.parametrize("module", [voiceapi_async, voiceapi_async.types], ids=lambda m: m.__name__)
def test_all_is_a_literal_list_of_explicit_imports(module: types.ModuleType) -> None:
    """Type checkers see a name only through a static re-export: no ``*`` import, no computed ``__all__``."""
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    stars = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)]
    assert not stars, "a * import: list the names"
    (assign,) = [
        n for n in tree.body if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
    ]
    assert isinstance(assign.value, ast.List)
    assert all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in assign.value.elts)

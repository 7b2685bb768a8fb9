"""The stages an item and each of its outputs go through, as stored in the journal.

``str`` enums: a member *is* its stored text (``ItemStage.DONE == "done"``), so journals
stay readable with any SQLite tool, counts keyed by plain strings still match, and
``str()``/f-strings give the value on every Python version.

Item: ``pending`` (validated) -> ``creating`` (upload/TTS intent) -> ``created`` (original
id known) -> ``ordering`` (order intent) -> ``converting`` (conversion ids known) -> ``done``;
or ``failed`` at any point.  Output (one per item and target; target ``-1`` is a TTS
original itself): ``processing`` -> ``converted`` (url known) -> ``downloaded``;
``retrying`` while an ``orders.retry`` is uncertain; or ``failed``.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    "FINAL_ITEM_STAGES",
    "FINAL_OUTPUT_STAGES",
    "SUBMIT_STAGES",
    "WATCHED_OUTPUT_STAGES",
    "ItemStage",
    "OutputStage",
    "Step",
]


class _StoredText(str, Enum):
    __str__ = str.__str__  # the value, not ``Class.MEMBER`` (3.12 changed ``format`` of mixed-in enums)


class ItemStage(_StoredText):
    PENDING = "pending"
    CREATING = "creating"
    CREATED = "created"
    ORDERING = "ordering"
    CONVERTING = "converting"
    DONE = "done"
    FAILED = "failed"


class OutputStage(_StoredText):
    PROCESSING = "processing"
    RETRYING = "retrying"
    CONVERTED = "converted"
    DOWNLOADED = "downloaded"
    FAILED = "failed"


class Step(_StoredText):
    """The step an item failed at (``ItemFailed.stage``, the journal's ``error_stage``)."""

    VALIDATE = "validate"
    UPLOAD = "upload"
    ORDER = "order"
    CONVERT = "convert"
    DOWNLOAD = "download"


#: Items the submit stage picks up.
SUBMIT_STAGES = (ItemStage.PENDING, ItemStage.CREATING, ItemStage.CREATED, ItemStage.ORDERING)
FINAL_ITEM_STAGES = (ItemStage.DONE, ItemStage.FAILED)
FINAL_OUTPUT_STAGES = (OutputStage.DOWNLOADED, OutputStage.FAILED)
#: Outputs the poller waits on.
WATCHED_OUTPUT_STAGES = (OutputStage.PROCESSING, OutputStage.RETRYING)

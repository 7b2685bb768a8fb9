"""The advice a job run prints names only options of the command running it (``demo`` takes no ``--force``)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.cli.test_job_commands import assert_flags_exist
from tests.jobs.conftest import JOB_FAST, fast_config, make_client
from tests.jobs.helpers import make_tree
from voiceapi_async._cli import build_parser
from voiceapi_async._cli._output import Output
from voiceapi_async._cli._run import run_job
from voiceapi_async.emulator import Emulator
from voiceapi_async.jobs import BatchConvertJob


def _dests(command: str) -> set[str]:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {action.dest for action in subparsers.choices[command]._actions}


@pytest.mark.parametrize("command", ["demo", "convert"])
async def test_an_unaffordable_run_advises_force_only_where_it_exists(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_tree(tmp_path / "in", 3)
    async with Emulator(fast_config()) as emu, make_client(emu) as client:
        emu.store.users[emu.users[0].id].credits = 0.01
        voice = emu.store.catalogue.voices[0].name
        job = BatchConvertJob(client, tmp_path / "in", [voice], tmp_path / "out", **JOB_FAST)
        code = await run_job(
            job, Output(plain=True), dry_run=False, report=None, as_json=False, options=_dests(command)
        )
    captured = capsys.readouterr()
    assert code == 4 and "top up" in captured.err
    assert ("--force" in assert_flags_exist(command, captured)) is (command == "convert")

"""Job commands: convert, tts, plan, status, demo (filled in with the orchestrator)."""

from __future__ import annotations

import argparse

__all__ = ["add_job_commands"]


def add_job_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    return None

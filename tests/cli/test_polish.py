"""The command line as a user meets it: help, hints, pipes, exit codes, colours."""

from __future__ import annotations

from .conftest import start_emulator


def test_emulator_prints_the_variables_to_export() -> None:
    running = start_emulator("--no-rate-limits")
    try:
        assert running.process.stdout is not None
        line = running.process.stdout.readline()
        assert line.split() == [
            "to",
            "use",
            "it:",
            "export",
            f"VOICEAPI_BASE_URL={running.base_url}",
            f"VOICEAPI_API_KEY={running.api_key}",
        ]
    finally:
        running.process.terminate()
        running.process.wait(timeout=10)

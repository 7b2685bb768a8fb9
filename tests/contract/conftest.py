from __future__ import annotations

from typing import Any

from tests.contract import counts


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in counts.summary():
        terminalreporter.write_line(line)

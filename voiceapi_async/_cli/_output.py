"""Rendering for the command line: tables and progress, with ``rich`` when installed.

``rich`` is optional (the ``[cli]`` extra); without it the CLI prints plain text.
Only the CLI prints: the library reports through callbacks and events.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

try:  # pragma: no cover - exercised when the extra is installed
    import rich.console
    import rich.table

    HAVE_RICH = True
except ImportError:  # pragma: no cover
    HAVE_RICH = False

__all__ = ["HAVE_RICH", "Output"]


class Output:
    """Where the CLI writes: stdout for results, stderr for progress and messages."""

    def __init__(self, *, stdout: TextIO | None = None, stderr: TextIO | None = None, plain: bool = False) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.rich = HAVE_RICH and not plain
        if self.rich:
            self._out = rich.console.Console(file=self.stdout, highlight=False, soft_wrap=True)
            self._err = rich.console.Console(file=self.stderr, highlight=False)

    @property
    def err_console(self) -> Any:
        return self._err if self.rich else None

    def line(self, text: str = "") -> None:
        if self.rich:
            self._out.print(text, markup=False)
        else:
            print(text, file=self.stdout)

    def message(self, text: str) -> None:
        """A note for the person at the terminal (stderr, so stdout stays parseable)."""
        if self.rich:
            self._err.print(text, markup=False)
        else:
            print(text, file=self.stderr)

    def error(self, text: str) -> None:
        self.message(f"error: {text}")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if self.rich:
            table = rich.table.Table(title=title, title_justify="left")
            for column in columns:
                table.add_column(column)
            for row in rows:
                table.add_row(*("" if v is None else str(v) for v in row))
            self._out.print(table)
            return
        cells = [[str(c) for c in columns], *[["" if v is None else str(v) for v in row] for row in rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        print(title, file=self.stdout)
        for i, row in enumerate(cells):
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=self.stdout)
            if i == 0:
                print("  ".join("-" * w for w in widths), file=self.stdout)

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
    import rich.text

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
            self._err = rich.console.Console(file=self.stderr, highlight=False, soft_wrap=True)

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
                table.add_row(*(_text(v) for v in row))
            self._out.print(table)
            return
        cells = [[str(c) for c in columns], *[["" if v is None else str(v) for v in row] for row in rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        print(title, file=self.stdout)
        for i, row in enumerate(cells):
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=self.stdout)
            if i == 0:
                print("  ".join("-" * w for w in widths), file=self.stdout)

    def fields(self, title: str, rows: Sequence[tuple[str, Any]]) -> None:
        """A two-column "name: value" table without a header (plans, summaries)."""
        if self.rich:
            table = rich.table.Table(title=title, title_justify="left", show_header=False)
            table.add_column(style="bold")
            table.add_column()
            for name, value in rows:
                table.add_row(_text(name), _text(value))
            self._out.print(table)
            return
        width = max((len(name) for name, _ in rows), default=0) + 1
        print(title, file=self.stdout)
        for name, value in rows:
            print(f"  {name + ':':<{width}} {'' if value is None else value}".rstrip(), file=self.stdout)


def _text(value: Any) -> Any:
    """A cell as literal text: file names like ``[take 1].wav`` are not rich markup."""
    return rich.text.Text("" if value is None else str(value))

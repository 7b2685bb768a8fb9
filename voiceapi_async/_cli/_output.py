"""Rendering for the command line: tables and progress, with ``rich`` when installed.

``rich`` is optional (the ``[cli]`` extra); without it the CLI prints plain text.
Only the CLI prints: the library reports through callbacks and events. Colours follow
``NO_COLOR`` (rich reads it); messages to a terminal wrap at word boundaries, messages to
a pipe or a file stay one line each.
"""

from __future__ import annotations

import shutil
import sys
import textwrap
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
        #: The "interrupted" line was printed: a second Ctrl-C must not print another.
        self.interrupted_said = False
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

    def raw(self, text: str) -> None:
        """Text printed exactly as it is (a shell script)."""
        self.stdout.write(text if text.endswith("\n") else text + "\n")

    def message(self, text: str) -> None:
        """A note for the person at the terminal (stderr, so stdout stays parseable)."""
        if self.rich:
            print_wrapped(self._err, text)
        else:
            if _isatty(self.stderr):
                width = shutil.get_terminal_size().columns
                text = textwrap.fill(text, width=width, break_long_words=False, break_on_hyphens=False)
            print(text, file=self.stderr)

    def interrupted(self, text: str) -> None:
        """The one "interrupted; ..." line of a run, however many times Ctrl-C was pressed."""
        if not self.interrupted_said:
            self.interrupted_said = True
            self.message(f"interrupted; {text}")

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


def print_wrapped(console: Any, text: str) -> None:
    """Print a message with rich: wrapped at word boundaries on a terminal, one line elsewhere."""
    console.print(text, markup=False, highlight=False, soft_wrap=not console.is_terminal)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _text(value: Any) -> Any:
    """A cell as literal text: file names like ``[take 1].wav`` are not rich markup."""
    return rich.text.Text("" if value is None else str(value))

"""Live progress of a job on stderr: rich bars on a terminal, otherwise a plain line every few seconds.

Fed by the job's ``on_progress`` snapshots (items per stage, requests, 429s, rate, ETA)
and by its events (files downloaded, items failed), so stdout stays free for results.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from ..jobs import ItemDownloaded, ItemFailed, ItemPostponed, JobEvent, Progress
from ._output import HAVE_RICH, Output, print_wrapped

if HAVE_RICH:  # pragma: no branch
    import rich.progress

__all__ = ["ProgressView"]

#: Item stages at or past "the original exists on the server" / "the order is placed".
_CREATED = ("created", "ordering", "converting", "done")
_ORDERED = ("converting", "done")
PLAIN_EVERY = 5.0
#: Failures listed as they happen; the rest are only counted (the report has them all).
FAILURES_SHOWN = 20


def stage_counts(p: Progress) -> tuple[int, int, int, int]:
    """Items created, ordered and done, out of the items still to do (failed ones leave the count).

    The one source of both displays' numbers, so the plain line and the bars always agree.
    """
    s = p.stages
    created = sum(s.get(k, 0) for k in _CREATED)
    ordered = sum(s.get(k, 0) for k in _ORDERED)
    return created, ordered, p.done, max(p.total - p.failed, 0)


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class ProgressView:
    """``with ProgressView(out, ...) as view:`` then pass ``view.on_progress`` and ``view.on_event`` to the job.

    ``created`` names the first stage (``"uploaded"`` or ``"synthesized"``); ``files`` is how
    many result files the run should end with and ``files_before`` how many a previous run
    already downloaded.
    """

    def __init__(self, out: Output, *, created: str, files: int, files_before: int = 0) -> None:
        self.out = out
        self.created = created
        self.files = files
        self.downloaded = files_before
        self.last: Progress | None = None
        console = out.err_console
        self._live = console is not None and console.is_terminal
        self._bars: Any = None
        self._tasks: dict[str, Any] = {}
        self._printed_at = 0.0
        self._printed: Progress | None = None
        self._failures = 0

    # -- the callbacks -----------------------------------------------------------------------

    def on_progress(self, progress: Progress) -> None:
        self.last = progress
        if self._bars is not None:
            self._update_bars(progress)
        elif time.monotonic() - self._printed_at >= PLAIN_EVERY:
            self._print_line(progress)

    def on_event(self, event: JobEvent) -> None:
        if isinstance(event, ItemDownloaded):
            self.downloaded += 1
            if self._bars is not None:
                self._bars.update(self._tasks["files"], completed=self.downloaded)
        elif isinstance(event, ItemFailed):
            self._failures += 1
            if self._failures <= FAILURES_SHOWN:
                self.note(f"failed: {event.name} ({event.stage}): {event.reason}")
            elif self._failures == FAILURES_SHOWN + 1:
                self.note("more items failed: see the summary and the report")
        elif isinstance(event, ItemPostponed) and event.retry_in is None:
            self.note(f"left for the next run: {event.name} ({event.stage}): {event.reason}")

    def note(self, text: str) -> None:
        """A message that does not break the bars."""
        if self._bars is not None:
            print_wrapped(self._bars.console, text)
        else:
            self.out.message(text)

    # -- rendering -----------------------------------------------------------------------------

    def _stats(self, p: Progress) -> str:
        parts = [f"{p.rate:.1f} items/s", f"ETA {_eta(p.eta)}", f"{p.requests} requests", f"{p.rate_limited}x429"]
        if p.failed:
            parts.insert(0, f"{p.failed} failed")
        return " · ".join(parts)

    def _print_line(self, p: Progress) -> None:
        self._printed_at, self._printed = time.monotonic(), p
        created, ordered, done, todo = stage_counts(p)
        self.out.message(
            f"items done {done}/{todo} · {self.created} {created}/{todo} · ordered {ordered}/{todo}"
            f" · downloaded {self.downloaded}/{self.files} · {self._stats(p)}"
        )

    def _update_bars(self, p: Progress) -> None:
        created, ordered, done, todo = stage_counts(p)
        bars = self._bars
        bars.update(self._tasks["created"], completed=created, total=todo)
        bars.update(self._tasks["ordered"], completed=ordered, total=todo)
        bars.update(self._tasks["done"], completed=done, total=todo, stats=self._stats(p))

    def __enter__(self) -> ProgressView:
        if self._live:
            self._bars = rich.progress.Progress(
                rich.progress.TextColumn("{task.description:>11}"),
                rich.progress.BarColumn(),
                rich.progress.MofNCompleteColumn(),
                rich.progress.TextColumn("{task.fields[stats]}"),
                console=self.out.err_console,
            )
            for name, description, total in (
                ("created", self.created, None),
                ("ordered", "ordered", None),
                ("files", "downloaded", self.files),
                ("done", "items done", None),
            ):
                self._tasks[name] = self._bars.add_task(description, total=total, stats="")
            self._bars.update(self._tasks["files"], completed=self.downloaded)
            self._bars.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bars is not None:
            if self.last is not None:
                self._update_bars(self.last)
            self._bars.stop()
            self._bars = None
        elif self.last is not None and self.last is not self._printed:
            self._print_line(self.last)

"""Machine-readable reports (JSON, CSV: one row per item) and the human tables of plans, summaries and status.

Reports are written from the journal (``voiceapi_async.jobs.read_journal``), streamed item
by item, so they are complete even for a stopped or interrupted run and cost no memory
for big batches.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import msgspec

from ..jobs import ItemReport, JobPlan, JobSummary, JournalReport
from ._output import Output

__all__ = [
    "report_paths",
    "show_failures",
    "show_plan",
    "show_summary",
    "write_reports",
]

_ITEM_COLUMNS = ("key", "name", "source", "stage", "label", "original_id", "error_stage", "error")
_OUTPUT_COLUMNS = ("target", "recording_id", "state", "path", "size", "error")
_SUFFIXES = (".json", ".csv")


def report_paths(report: str | None, output_dir: Path) -> list[Path]:
    """``--report PATH`` (its extension picks the format), or both ``report.json`` and ``report.csv`` in the output dir."""
    if report is None:
        return [output_dir / f"report{suffix}" for suffix in _SUFFIXES]
    path = Path(report)
    if path.suffix.lower() not in _SUFFIXES:
        raise ValueError(f"--report must end in .json or .csv, not {path.name!r}")
    return [path]


def write_reports(journal: JournalReport, paths: Sequence[Path], summary: JobSummary | None = None) -> list[Path]:
    """Write each report atomically (temporary file, then rename); returns the paths written."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".csv":
                _write_csv(journal, f)
            else:
                _write_json(journal, f, summary)
        os.replace(tmp, path)
    return list(paths)


def write_shared_reports(
    outputs: Sequence[tuple[str, str, int, str]], paths: Sequence[Path], summary: JobSummary
) -> list[Path]:
    """A job shared on PostgreSQL: the summary and where each output is (``key, name, target, file``)."""
    columns = ("key", "name", "target", "file")
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".csv":
                writer = csv.writer(f)
                writer.writerow(columns)
                writer.writerows(outputs)
            else:
                rows = [dict(zip(columns, row, strict=True)) for row in outputs]
                f.write(msgspec.json.encode({"summary": summary, "outputs": rows}).decode() + "\n")
        os.replace(tmp, path)
    return list(paths)


def _write_json(journal: JournalReport, f: IO[str], summary: JobSummary | None) -> None:
    head = {
        "journal": str(journal.path),
        "kind": journal.kind,
        "project": journal.project,
        "folder": journal.folder,
        "targets": list(journal.targets),
        "status": journal.status,
        "counts": journal.counts,
        "summary": msgspec.to_builtins(summary) if summary is not None else None,
    }
    encoded = msgspec.json.encode(head).decode()
    f.write(encoded[:-1] + ', "items": [')
    for n, item in enumerate(journal.items()):
        f.write(("\n" if n == 0 else ",\n") + msgspec.json.encode(item).decode())
    f.write("\n]}\n")


def _write_csv(journal: JournalReport, f: IO[str]) -> None:
    width = max(journal.max_outputs, 1)
    writer = csv.writer(f)
    writer.writerow(
        [*_ITEM_COLUMNS, *(f"output{n}_{column}" for n in range(1, width + 1) for column in _OUTPUT_COLUMNS)]
    )
    for item in journal.items():
        writer.writerow(_csv_row(item, width))


def _csv_row(item: ItemReport, width: int) -> list[Any]:
    row: list[Any] = [getattr(item, column) for column in _ITEM_COLUMNS]
    for output in item.outputs[:width]:
        row.extend(getattr(output, column) for column in _OUTPUT_COLUMNS)
    row.extend([None] * (len(_ITEM_COLUMNS) + width * len(_OUTPUT_COLUMNS) - len(row)))
    return ["" if v is None else v for v in row]


# -- human output ------------------------------------------------------------------------------


def _seconds(value: float) -> str:
    return f"{value:,.1f} s"


def show_plan(plan: JobPlan, out: Output, *, title: str = "plan") -> None:
    rows: list[tuple[str, object]] = [
        ("items", plan.items),
        ("invalid (skipped)", plan.invalid),
        ("total audio duration", _seconds(plan.total_duration)),
    ]
    if plan.unknown_duration:
        rows.append(("items of unknown duration", plan.unknown_duration))
    if plan.characters:
        rows.append(("characters", f"{plan.characters:,}"))
    rows += [
        ("conversions per item", plan.conversions_per_item),
        ("estimated charge", _seconds(plan.estimated_charge)),
    ]
    if plan.remaining_charge != plan.estimated_charge:
        rows.append(("still to pay (not yet ordered)", _seconds(plan.remaining_charge)))
    rows += [
        ("credits", "?" if plan.credits is None else _seconds(plan.credits)),
        ("affordable", "yes" if plan.affordable else "NO"),
    ]
    out.fields(title, rows)
    if plan.invalid_items:
        show_failures(out, [(f.name, f.stage, f.reason) for f in plan.invalid_items], plan.invalid, "invalid inputs")


def show_failures(out: Output, rows: Sequence[tuple[str, str, str]], total: int, title: str = "failures") -> None:
    more = total - len(rows)
    out.table(f"{title} ({total})" + (f", first {len(rows)}" if more > 0 else ""), ["item", "stage", "reason"], rows)


def show_summary(summary: JobSummary, out: Output, *, output_dir: Path, reports: Sequence[Path]) -> None:
    rows: list[tuple[str, object]] = [
        ("status", summary.status.value),
        ("items done", f"{summary.done} of {summary.total}"),
        ("failed", summary.failed),
        *((("left for the next run", summary.pending),) if summary.pending else ()),
        ("requests", summary.requests),
        ("429 answers", summary.rate_limited),
        ("conversion retries", summary.conversion_retries),
        ("duration", f"{summary.duration:.1f} s"),
        ("journal", summary.journal_path),
        ("results", f"{output_dir}{os.sep} ({summary.output_count} files)"),
    ]
    rows += [(f"report ({path.suffix[1:]})", str(path)) for path in reports]
    if summary.error:
        rows.append(("stopped by", summary.error))
    out.fields("summary", rows)
    if summary.failures:
        show_failures(
            out,
            [(f.name, f.stage, f.reason) for f in summary.failures],
            len(summary.failures) + summary.failures_truncated,
        )

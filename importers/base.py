"""What every importer shares: a dry run that reports what would happen, a real run in one
transaction with the import named as the change reason in history, row errors that name row,
column, value and expectation, and a closing summary.

An importer subclasses `Importer` and implements `run(stage)`, calling `stage.created(obj)`,
`stage.updated(obj)`, `stage.unchanged(obj)`, `stage.skipped(row, reason)` and
`stage.error(row, column, value, expected)`. `Importer.execute()` wraps it: with any error and
without `skip_invalid`, nothing is written; a dry run rolls everything back.
"""

from __future__ import annotations

import gc
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction


@dataclass
class RowError:
    row: int | None
    """The row as a spreadsheet shows it (the header is row 1, the first data row 2), or None
    for the whole file."""
    column: str | None
    value: object
    expected: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        location = ", ".join(where) or "file"
        return f"{location}: {self.value!r} — expected {self.expected}"


@dataclass
class ImportResult:
    importer: str
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    skipped_rows: list[tuple[int | None, str]] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False

    def summary(self) -> str:
        mode = "dry run" if self.dry_run else ("written" if self.written else "nothing written")
        return (
            f"{self.importer} ({mode}): created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, skipped {self.skipped}, errors {len(self.errors)}, "
            f"{self.seconds:.1f} s"
        )


class _Rollback(Exception):
    pass


@contextmanager
def objects_before_frozen():
    """The objects that exist when an import starts are left out of the garbage collector's
    full passes until it ends (`gc.freeze`): an import allocates many objects, and every full
    pass would walk the whole process (Django, pandas, caches) again, ~20% of a large import.
    Nothing is kept longer than the import; overlapping imports merely thaw early."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class Stage:
    """Collects what an import does; the importer reports every row here."""

    def __init__(self, result: ImportResult, skip_invalid: bool, progress=None):
        self.result = result
        self.skip_invalid = skip_invalid
        self.progress = progress

    def created(self, obj=None):
        self.result.created += 1

    def updated(self, obj=None):
        self.result.updated += 1

    def unchanged(self, obj=None):
        self.result.unchanged += 1

    def skipped(self, row, reason: str):
        self.result.skipped += 1
        self.result.skipped_rows.append((row, reason))

    def error(self, row, column, value, expected: str):
        self.result.errors.append(RowError(row, column, value, expected))

    def tick(self, done: int, total: int | None = None):
        if self.progress is not None:
            self.progress(done, total)


class Importer:
    """Base class: `name` for reports, `run(stage)` for the work."""

    name = "import"

    def __init__(self, *, user=None, dry_run: bool = False, skip_invalid: bool = False,
                 progress=None):  # fmt: skip
        self.user = user
        self.dry_run = dry_run
        self.skip_invalid = skip_invalid
        self.progress = progress

    @property
    def change_reason(self) -> str:
        return f"import: {self.name}"[:100]

    def run(self, stage: Stage) -> None:
        raise NotImplementedError

    def execute(self) -> ImportResult:
        result = ImportResult(importer=self.name, dry_run=self.dry_run)
        stage = Stage(result, self.skip_invalid, self.progress)
        started = time.perf_counter()
        try:
            with objects_before_frozen(), transaction.atomic():
                self.run(stage)
                if self.dry_run or (result.errors and not self.skip_invalid):
                    raise _Rollback
                result.written = True
        except _Rollback:
            result.written = False
        result.seconds = time.perf_counter() - started
        return result


def terminal_progress(stream=None, label: str = "import"):
    """A progress callback: a bar on a terminal, a count every 10% otherwise."""
    stream = stream or sys.stderr
    is_tty = hasattr(stream, "isatty") and stream.isatty()
    last = {"decile": -1}

    def report(done: int, total: int | None):
        if not total:
            return
        if is_tty:
            width = 30
            filled = int(width * done / total)
            stream.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            if done >= total:
                stream.write("\n")
            stream.flush()
        else:
            decile = 10 * done // total
            if decile != last["decile"]:
                last["decile"] = decile
                stream.write(f"{label}: {done}/{total}\n")

    return report

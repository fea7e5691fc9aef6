"""The mechanism of bulk imports of earlier years (`referral-service import <domain> FILE`), written once
for every domain: reading a CSV or XLSX file within size and row limits, matching its header to the
domain's columns, reading cells as codes, dates and yes/no, the per-row error report, the import id
(SHA-256 of the file or the operator's) recorded in the domain's import table, and the command's run
(one transaction, a progress bar). What a row means and which rows are valid is the domain's.

An error names the row (as a spreadsheet numbers it: the header is row 1), the column and a stable
code, never a cell's content: cells hold personal data, and the report goes to a terminal, a ticket or
a log. An unknown column is named by its letter for the same reason (a file without a header row would
otherwise print its first case).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import sys
import zipfile
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import click
from sqlalchemy import Table, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral_service.cli_support import run_async
from referral_service.db import create_engine, create_session_factory
from referral_service.keys.service import CaseKeys, load_key_provider
from referral_service.settings import LOCAL_TIMEZONE, Settings

# A file above either limit is refused before any row is checked: 50 MiB hold some 100,000 cases with
# long descriptions; more than 100,000 rows are more than either office received in twenty years
# (split the file by year). Both keep one import's transaction and memory bounded.
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_ROWS = 100_000

# The pseudo-column of errors that concern the whole file.
FILE = "file"

Cell = str | int | float | bool | dt.date | dt.datetime | None
C = TypeVar("C", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)

_TRUE = frozenset({"1", "x", "yes", "true", "ja", "wahr"})
_FALSE = frozenset({"", "0", "no", "false", "nein", "falsch"})
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_IMPORT_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")

# The codes of the mechanism, each with what it means; `{docs}` is the domain's documentation. A domain
# adds its own codes and may word a code for its cases (`messages`).
_MESSAGES: Mapping[str, str] = {
    "import.file_too_large": "The file is larger than the import takes; split it by year.",
    "import.too_many_rows": "The file has more rows than the import takes; split it by year.",
    "import.unreadable": "The file cannot be read as CSV (UTF-8) or XLSX.",
    "import.empty": "The file has no header row.",
    "import.no_rows": "The file has no cases below its header.",
    "import.missing_column": "A required column is missing.",
    "import.unknown_column": "The column's header is not one the import knows (see {docs}).",
    "import.duplicate_column": "Two columns have the same header.",
    "value.required": "A value is required here.",
    "import.unknown_code": "Not one of the codes of this column (see {docs}).",
    "import.bad_date": "Not a date (2017-03-14, 14.03.2017, or with a time).",
    "import.bad_boolean": "Not yes/no (ja/nein, 1/0).",
    "import.too_long": "The text is longer than a case entered by hand may have.",
    "import.bad_reference": "Not a reference of this kind of case.",
    "import.reference_year": "The reference's year is not the year of receipt.",
    "import.duplicate_reference": "The reference appears in an earlier row of the file.",
    "import.reference_taken": "A stored case has this reference already.",
    "import.unknown_unit": "No unit of the expected kind has this code.",
    "import.not_applicable": "Not with the other values of this row (see {docs}).",
}


def messages(docs: str, own: Mapping[str, str]) -> Mapping[str, str]:
    """A domain's report texts: the mechanism's, pointing to the domain's documentation `docs`, and the
    domain's `own` codes and wordings over them."""
    return {**{code: text.format(docs=docs) for code, text in _MESSAGES.items()}, **own}


@dataclass(frozen=True, slots=True, order=True)
class RowError:
    row: int  # 0: the file as a whole; 1: the header
    column: str
    code: str


@dataclass(frozen=True, slots=True)
class Sheet:
    """The file's header and its non-empty rows, each with its row number."""

    header: Sequence[Cell]
    rows: Sequence[tuple[int, Sequence[Cell]]]


# Reading


def read_sheet(
    path: Path, *, max_bytes: int = MAX_FILE_BYTES, max_rows: int = MAX_ROWS
) -> tuple[Sheet | None, list[RowError]]:
    """The file's rows (CSV in UTF-8 with ";" or ",", or the first sheet of an XLSX workbook)."""
    if path.stat().st_size > max_bytes:
        return None, [RowError(0, FILE, "import.file_too_large")]
    try:
        lines = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
        header: Sequence[Cell] | None = None
        rows: list[tuple[int, Sequence[Cell]]] = []
        for number, cells in enumerate(lines, start=1):
            if header is None:
                header = cells
                continue
            if all(text(cell) == "" for cell in cells):
                continue
            if len(rows) == max_rows:
                return None, [RowError(0, FILE, "import.too_many_rows")]
            rows.append((number, cells))
    except (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, KeyError, OSError, ValueError):
        return None, [RowError(0, FILE, "import.unreadable")]
    if header is None:
        return None, [RowError(0, FILE, "import.empty")]
    if not rows:
        return None, [RowError(0, FILE, "import.no_rows")]
    return Sheet(header=header, rows=rows), []


def _csv_rows(path: Path) -> Iterator[Sequence[Cell]]:
    # utf-8-sig: German spreadsheets write a byte order mark.
    content = path.read_bytes().decode("utf-8-sig")
    first = content.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    yield from csv.reader(io.StringIO(content, newline=""), delimiter=delimiter, strict=True)


def _xlsx_rows(path: Path) -> Iterator[Sequence[Cell]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield [value if isinstance(value, Cell) else str(value) for value in values]  # type: ignore[arg-type]
    finally:
        workbook.close()


def columns_of(
    header: Sequence[Cell], known: Mapping[str, C], required: Iterable[C]
) -> tuple[dict[C, int], list[RowError]]:
    """Which column holds what (`known`: header names in lower case, with spaces and hyphens read as
    underscores); errors for unknown, repeated and missing columns."""
    found: dict[C, int] = {}
    errors: list[RowError] = []
    for index, cell in enumerate(header):
        name = re.sub(r"[\s\-]+", "_", text(cell).lower())
        if not name:
            continue  # trailing empty columns, as spreadsheets save them
        column = known.get(name)
        if column is None:
            errors.append(RowError(1, _letter(index), "import.unknown_column"))
        elif column in found:
            errors.append(RowError(1, column.value, "import.duplicate_column"))
        else:
            found[column] = index
    errors += [
        RowError(1, column.value, "import.missing_column") for column in required if column not in found
    ]
    return found, errors


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def text(cell: Cell) -> str:
    """A cell as text, as a person reads it (1.0 is "1", a date its ISO form)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell).strip()


def cell_text(cells: Sequence[Cell], index: int) -> str:
    return text(cells[index]) if index < len(cells) else ""


def moment_of(cell: Cell) -> dt.datetime | None:
    """A point in time, UTC; a date alone is the start of that day and a time without an offset German
    local time (as the offices wrote their files)."""
    if isinstance(cell, dt.datetime):
        naive = cell
    elif isinstance(cell, dt.date):
        naive = dt.datetime.combine(cell, dt.time())
    else:
        written = text(cell)
        german = _GERMAN_DATE.match(written)
        try:
            if german is not None:
                day, month, year, hour, minute, second = german.groups()
                naive = dt.datetime(
                    int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
                )
            else:
                naive = dt.datetime.fromisoformat(written)
        except ValueError:
            return None
    moment = naive if naive.tzinfo is not None else naive.replace(tzinfo=LOCAL_TIMEZONE)
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL_TIMEZONE).date()


class RowReader(Generic[C]):
    """One row's cells read by column; every problem is recorded as an error of the row and marks it
    failed, so that all of a file's errors are found in one pass."""

    def __init__(
        self, number: int, cells: Sequence[Cell], columns: Mapping[C, int], errors: list[RowError]
    ) -> None:
        self.number = number
        self.cells = cells
        self.columns = columns
        self.errors = errors
        self.failed = False

    def fail(self, column: C, code: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.number, column.value, code))

    def raw(self, column: C) -> Cell:
        index = self.columns.get(column)
        return self.cells[index] if index is not None and index < len(self.cells) else None

    def text(self, column: C) -> str:
        return text(self.raw(column))

    def code(self, column: C, kind: type[E], *, required: bool = False) -> E | None:
        written = self.text(column)
        if not written:
            if required:
                self.fail(column, "value.required")
            return None
        try:
            return kind(written.lower())
        except ValueError:
            self.fail(column, "import.unknown_code")
            return None

    def codes(self, column: C, kind: type[E], *, required: bool = False) -> tuple[E, ...]:
        """Several codes separated by "|", in the file's order, each once."""
        written = [part.strip().lower() for part in self.text(column).split("|") if part.strip()]
        if not written:
            if required:
                self.fail(column, "value.required")
            return ()
        try:
            return tuple(dict.fromkeys(kind(code) for code in written))
        except ValueError:
            self.fail(column, "import.unknown_code")
            return ()

    def moment(self, column: C, *, required: bool = False) -> dt.datetime | None:
        cell = self.raw(column)
        if text(cell) == "":
            if required:
                self.fail(column, "value.required")
            return None
        moment = moment_of(cell)
        if moment is None:
            self.fail(column, "import.bad_date")
        return moment

    def flag(self, column: C) -> bool:
        cell = self.raw(column)
        if isinstance(cell, bool):
            return cell
        written = text(cell).lower()
        if written in _TRUE or written in _FALSE:
            return written in _TRUE
        self.fail(column, "import.bad_boolean")
        return False

    def reference(
        self, column: C, normalise: Callable[[str], str | None], *, seen: set[str], taken: Collection[str]
    ) -> str | None:
        """The case reference the row keeps (None: one is assigned), in its normal form: refused when
        malformed, repeated in the file (`seen` collects the file's) or already stored (`taken`)."""
        written = self.text(column)
        if not written:
            return None
        reference = normalise(written)
        if reference is None:
            self.fail(column, "import.bad_reference")
        elif reference in seen:
            self.fail(column, "import.duplicate_reference")
        elif reference in taken:
            self.fail(column, "import.reference_taken")
        if reference is not None:
            seen.add(reference)
        return reference

    def required(self, column: C) -> None:
        """A value the row's other values call for (a date for its status), when the cell is empty;
        a cell that is there but unreadable has its error already."""
        if self.text(column) == "":
            self.fail(column, "value.required")


def error_lines(errors: Iterable[RowError], known: Mapping[str, str]) -> list[str]:
    """The report, one line per error: "row 7, received_at: import.bad_date (Not a date ...)", in the
    domain's words (`messages`)."""
    lines = []
    for error in sorted(errors):
        place = "file" if error.row == 0 else f"row {error.row}, {error.column}"
        lines.append(f"{place}: {error.code} ({known.get(error.code, error.code)})")
    return lines


# The import's record: a domain's table with `id` (the import id) and `imported_at`, plus its counts.


async def is_recorded(session: AsyncSession, table: Table, import_id: str) -> bool:
    found = await session.execute(select(table.c.id).where(table.c.id == import_id))
    return found.first() is not None


async def record(session: AsyncSession, table: Table, **values: Any) -> None:
    """Claims the import id first: a concurrent run of the same import waits here for this one (the
    primary key), and a second one after it fails instead of importing the file twice."""
    await session.execute(insert(table).values(**values))


def values_of(row: Any) -> dict[str, Any]:
    """A model instance as the column values of its table, for a bulk insert."""
    return {column.name: getattr(row, column.name) for column in row.__table__.columns}


class Numbered(Protocol):
    """A row of an import file that may keep its own reference."""

    @property
    def row(self) -> int: ...
    @property
    def reference(self) -> str | None: ...


N = TypeVar("N", bound=Numbered)


async def number_rows(
    records: Sequence[N],
    *,
    moment: Callable[[N], dt.datetime],
    year: Callable[[N], int],
    allocate: Callable[[int, int, int], Awaitable[int]],
    reference: Callable[[int, int], str],
) -> dict[int, tuple[int, str]]:
    """{row: (sequence, reference)}: the file's own reference where it has one, else the next free
    numbers of the row's year, in the order of `moment`, taken above every number the file keeps.
    `allocate(year, count, after)` takes a block of numbers from the domain's counter and returns its
    first; `reference(year, sequence)` writes one."""
    by_year: dict[int, list[N]] = {}
    for record in records:
        by_year.setdefault(year(record), []).append(record)
    numbers: dict[int, tuple[int, str]] = {}
    for each_year, group in sorted(by_year.items()):
        kept = [(record.row, record.reference) for record in group if record.reference is not None]
        for row, kept_reference in kept:
            numbers[row] = (int(kept_reference.rsplit("-", 1)[1]), kept_reference)
        new = sorted((record for record in group if record.reference is None), key=moment)
        if not new:
            continue
        first = await allocate(each_year, len(new), max((numbers[row][0] for row, _ in kept), default=0))
        for offset, record in enumerate(new):
            numbers[record.row] = (first + offset, reference(each_year, first + offset))
    return numbers


# The command


def file_digest(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_id_for(file: Path, given: str | None) -> str:
    """The operator's id if well-formed (a click error otherwise), else the file's SHA-256."""
    if given is None:
        return file_digest(file)
    if not _IMPORT_ID.fullmatch(given):
        raise click.BadParameter("letters, digits and . _ : - only, at most 64", param_hint="--import-id")
    return given


def refuse(errors: Sequence[RowError], known: Mapping[str, str]) -> None:
    """Print the report and stop with exit code 1: nothing was written."""
    for line in error_lines(errors, known):
        click.echo(line)
    click.echo(f"{len(errors)} errors: nothing imported", err=True)
    raise SystemExit(1)


R = TypeVar("R")


def run_import(
    settings: Settings,
    sheet: Sheet,
    work: Callable[[AsyncSession, CaseKeys, Callable[[int], None]], Awaitable[R]],
) -> R:
    """Run `work` in one transaction of its own engine, with a progress bar over the sheet's rows on
    stderr (`work` advances it by the rows written); it commits when `work` returns."""

    async def main() -> R:
        engine = create_engine(settings)
        keys = CaseKeys(lambda: load_key_provider(settings))
        try:
            with click.progressbar(length=len(sheet.rows), label="importing", file=sys.stderr) as bar:
                async with create_session_factory(engine)() as session, session.begin():
                    return await work(session, keys, bar.update)
        finally:
            await engine.dispose()

    return run_async(main)

"""Reading an ICB's order tracker, a CSV (UTF-8) or Excel (.xlsx) file, into numbered lines of
cells keyed by column; and the template file people fill in. This module knows files, headings
and cells; what a cell means (a practice, a system, a date) is importing.py's business.

Files are read as a stream (csv on the decoded text, openpyxl in read-only mode), so memory does
not grow with the number of rows.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# An .xlsx is a zip of XML: 2 MB of it can unpack to gigabytes (a "zip bomb"). A real tracker of
# 5,000 rows unpacks to a few MB; the file is refused above this before openpyxl reads it.
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
# Cells to the right of these are not read: trackers carry notes columns, never this many.
MAX_COLUMNS = 60
# The heading row may sit under a title or a few blank rows.
HEADING_ROWS_SEARCHED = 10
# Spreadsheet programs run a cell that starts with one of these as a formula ("CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@")
ZIP_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0"  # the old binary .xls format
SAVE_AS_CSV_UTF8 = 'In Excel, save it as "CSV UTF-8 (Comma delimited) (*.csv)" and upload that file.'
NOT_A_WORKBOOK = ("The file cannot be read as an Excel workbook.", "Save it from Excel as .xlsx again.")


@dataclass(frozen=True)
class Column:
    key: str
    heading: str  # as in the template file
    aliases: tuple[str, ...]
    required: bool  # the file must have the column
    # When a cell of a column the file must have may still be empty, as importing.py's checks allow;
    # "" when every row needs it.
    empty_cells: str = ""

    @property
    def needed(self) -> str:
        """What the import page says the column needs."""
        if not self.required:
            return "No"
        return f"The column. {self.empty_cells}" if self.empty_cells else "Yes, in every row"


COLUMNS = (
    Column("ods_code", "ODS code", ("ODS", "Practice code", "Practice ODS code", "Organisation code"), True),
    Column("practice_name", "Practice name", ("Practice", "Name", "GP practice"), True),
    Column("icb_code", "ICB code", ("ICB", "ICB ODS code"), True),
    Column(
        "current_system", "Current system", ("Current supplier", "Source system", "Old system", "From system"), True
    ),
    Column("new_system", "New system", ("New supplier", "Target system", "To system"), True),
    Column(
        "order_date",
        "Order date",
        ("Order accepted", "Order accepted date", "Date ordered"),
        True,
        "A cell may be empty only for a practice whose migration is under way: its order date stays as it is.",
    ),
    Column(
        "go_live",
        "Planned go-live",
        ("Go-live", "Go-live date", "Planned go-live date", "Go live"),
        True,
        "A cell may be empty until the date is agreed.",
    ),
    Column("idp", "IDP", ("IDP date", "Initial data production"), False),
    Column("fdp", "FDP", ("FDP date", "Final data production"), False),
    Column(
        "project_manager",
        "Project manager's e-mail",
        ("Project manager", "Project manager e-mail", "Project manager's email", "PM e-mail"),
        False,
    ),
)
HEADINGS = {column.key: column.heading for column in COLUMNS}


def normalised(heading: str) -> str:
    """A heading as compared: any case, spacing and punctuation ("Go-live" and "go live" match)."""
    return re.sub(r"[^a-z0-9]", "", heading.casefold())


_KEYS = {normalised(name): column.key for column in COLUMNS for name in (column.heading, *column.aliases)}


class FileProblem(Exception):
    """The file as a whole cannot be read: its rows are not looked at."""

    def __init__(self, *messages: str) -> None:
        super().__init__(" ".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Line:
    """One row of the file, numbered as a spreadsheet shows it. `cells` holds a value per column
    key: text (stripped), or from Excel a date, datetime or number; `formulas` the keys of cells
    holding a formula, whose value is never used."""

    number: int
    cells: dict[str, object]
    formulas: frozenset[str]

    def text(self, key: str) -> str:
        value = self.cells.get(key)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise FileProblem(
            f"The file is {size / 1024 / 1024:.1f} MB: the largest file that can be imported is "
            f"{MAX_BYTES // 1024 // 1024} MB (and {MAX_ROWS:,} rows).",
            "Split it into smaller files.",
        )


def looks_like_formula(value: object) -> bool:
    return isinstance(value, str) and len(value.strip()) > 1 and value.lstrip().startswith(FORMULA_STARTS)


class TrackerFile:
    """An uploaded file, checked as a whole on opening (kind, size, encoding, headings): a
    FileProblem otherwise. `lines()` reads its data rows, and can be called again."""

    def __init__(self, filename: str, content: bytes) -> None:
        self.filename = filename
        suffix = PurePath(filename).suffix.lower()
        check_size(len(content))
        if suffix == ".xls" or content.startswith(OLE_SIGNATURE):
            raise FileProblem("The file is in the old Excel format (.xls).", "Save it as .xlsx or as CSV UTF-8.")
        if suffix not in (".csv", ".xlsx"):
            raise FileProblem("The file must be a CSV file (.csv) or an Excel workbook (.xlsx).")
        if not content.strip():
            raise FileProblem("The file is empty.")
        self.is_excel = content.startswith(ZIP_SIGNATURE)
        if suffix == ".xlsx" and not self.is_excel:
            raise FileProblem("The file is called .xlsx but is not an Excel workbook.", "Save it from Excel again.")
        if self.is_excel:
            self._workbook = _open_workbook(content)
        else:
            self._text = _decode(content)
        try:
            self.columns, self.heading_row = self._find_headings()
        except FileProblem:
            self.close()
            raise
        self.headings = {key: heading for key, (_, heading) in self.columns.items()}

    def close(self) -> None:
        if self.is_excel:
            self._workbook.close()

    def __enter__(self) -> "TrackerFile":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def lines(self) -> Iterator[Line]:
        """Every row after the headings that has anything in it."""
        indexes = {key: index for key, (index, _) in self.columns.items()}
        for number, values, formulas in self._rows():
            if number <= self.heading_row:
                continue
            cells = {key: values[index] if index < len(values) else None for key, index in indexes.items()}
            if all(value is None or (isinstance(value, str) and not value.strip()) for value in cells.values()):
                continue
            found = {key for key, index in indexes.items() if index in formulas or looks_like_formula(cells[key])}
            yield Line(number, cells, frozenset(found))

    def _rows(self) -> Iterator[tuple[int, list, set[int]]]:
        """(row number, cell values, indexes of formula cells) of every row, from the first."""
        if self.is_excel:
            sheet = self._workbook.worksheets[0]
            # Files written by other tools may state the sheet's size wrongly: read every row there is.
            sheet.reset_dimensions()
            for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS), start=1):
                values = [getattr(cell, "value", None) for cell in row]
                formulas = {index for index, cell in enumerate(row) if getattr(cell, "data_type", None) == "f"}
                yield number, [value.strip() if isinstance(value, str) else value for value in values], formulas
            return
        reader = csv.reader(_text_lines(self._text), delimiter=_delimiter(self._text))
        try:
            for number, row in enumerate(reader, start=1):
                yield number, [value.strip() or None for value in row[:MAX_COLUMNS]], set()
        except csv.Error as error:
            raise FileProblem(f"Row {reader.line_num} cannot be read as CSV ({error}).", SAVE_AS_CSV_UTF8) from None

    def _find_headings(self) -> tuple[dict[str, tuple[int, str]], int]:
        """Each column's key -> (index, heading as written), and the heading row's number."""
        first = None
        for number, values, _ in self._rows():
            if number > HEADING_ROWS_SEARCHED:
                break
            texts = [str(value) if value is not None else "" for value in values]
            if first is None and any(texts):
                first = (number, texts)
            if "ods_code" in {_KEYS.get(normalised(text)) for text in texts}:
                return _columns(number, texts), number
        if first is None:
            raise FileProblem("The file has no rows.")
        return _columns(*first), first[0]


def _columns(number: int, texts: list[str]) -> dict[str, tuple[int, str]]:
    columns: dict[str, tuple[int, str]] = {}
    for index, text in enumerate(texts):
        key = _KEYS.get(normalised(text))
        if key is None:
            continue
        if key in columns:
            raise FileProblem(
                f'Row {number} has two columns for "{HEADINGS[key]}": "{columns[key][1]}" and "{text}".',
                "Keep one of them.",
            )
        columns[key] = (index, text.strip())
    missing = [column.heading for column in COLUMNS if column.required and column.key not in columns]
    if missing:
        listed = ", ".join(f'"{heading}"' for heading in missing)
        raise FileProblem(
            f"The file has no {listed} column{'s' if len(missing) > 1 else ''}.",
            "The first row must name the columns, as in the template file.",
        )
    return columns


def _decode(content: bytes) -> str:
    """UTF-8, with or without the byte order mark Excel writes. Anything else is refused, naming
    the row of the first byte that is not UTF-8, rather than guessed at."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = content[: error.start].count(b"\n") + 1
        raise FileProblem(
            f"The file is not saved as UTF-8 text: row {row} has characters that cannot be read.", SAVE_AS_CSV_UTF8
        ) from None


def _text_lines(text: str) -> Iterator[str]:
    """The text's lines with their endings, one at a time: a StringIO would copy the whole file again
    (four bytes a character, as soon as one is not ASCII)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        yield text[start:end]
        start = end


def _delimiter(text: str) -> str:
    """Commas, or the semicolons or tabs some programs write: whichever the heading row has most of."""
    first_line = text.split("\n", 1)[0]
    return max(",;\t", key=first_line.count)


def _open_workbook(content: bytes):
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile:
        raise FileProblem(*NOT_A_WORKBOOK) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileProblem("The workbook holds far more than a tracker of 5,000 rows would.", "Import its rows as CSV.")
    try:
        # data_only=False: a formula cell reads as its formula, which is refused, and never as the
        # value Excel last cached for it.
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (KeyError, ValueError, InvalidFileException...) on a bad file
        raise FileProblem(*NOT_A_WORKBOOK) from None
    if not workbook.worksheets:
        raise FileProblem("The workbook has no sheets.")
    return workbook


# --- the template file ---------------------------------------------------------------------------------


def template_csv() -> bytes:
    """The headings, with the byte order mark that makes Excel open the file as UTF-8."""
    text = io.StringIO()
    csv.writer(text).writerow(column.heading for column in COLUMNS)
    return "\ufeff".encode() + text.getvalue().encode()


def template_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Orders"
    sheet.append([column.heading for column in COLUMNS])
    for index, column in enumerate(COLUMNS, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[get_column_letter(index)].width = max(14, len(column.heading) + 4)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()

"""Reading the tables jobcenters really export: CSV in any of its Danish dialects, .xlsx, Parquet.

Every reader returns the same thing: a :class:`RawTable` whose cells are all text
(missing = NA), so that one parsing path (``_parse``) serves every format and the
same form gives the same risk whatever file it came in.

The dialect is detected, not asked for:

- format from the file's first bytes (Parquet ``PAR1``, .xlsx is a zip), else the suffix;
- encoding: UTF-8 (with or without BOM); bytes that are not UTF-8 are read as
  Windows-1252, as Danish Excel saves them, one run of bytes at a time, so a file
  mixing both still reads every Danish letter right;
- field separator from the header line (``;``, ``,``, tab or ``|``);
- decimal mark per value when numbers are parsed (``3,5`` and ``3.5`` are both 3.5).
"""

from __future__ import annotations

import codecs
import collections
import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

Format = Literal["csv", "xlsx", "parquet"]
SEPARATORS = (";", ",", "\t", "|")
SNIFF_BYTES = 64 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
#: A byte other than blank space or a byte-order mark's: the file is not empty.
_ANYTHING = re.compile(rb"[^ \t\r\n\xef\xbb\xbf]")


#: The dtype of every cell of a :class:`RawTable` (text, missing = NaN), and of text columns downstream.
TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)


class FileError(Exception):
    """A problem with the file as a whole: the run stops (exit code 2) and nothing is scored."""


_CPR_SHAPED = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


def library_message(error: BaseException) -> str:
    """A library's error about a file, fit to show: its first line, at most 200 characters, no CPR-shaped number.

    Such messages can quote bytes of the file (a Parquet footer's size, a cell).
    """
    lines = str(error).splitlines() or [type(error).__name__]
    return _CPR_SHAPED.sub("******-****", lines[0])[:200]


@dataclass
class RawTable:
    """A table as read, before any parsing.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per record, all cells text (``str`` dtype), missing cells NA.
        Columns carry the file's own header names.
    row_numbers : numpy.ndarray
        For each row of ``frame``, its row in the file as a spreadsheet shows it
        (the header is row 1, the first form row 2).
    malformed : list of tuple
        Records that could not be split into the header's fields:
        ``(row_number, fields_found, fields_expected)``; ``fields_found`` is
        ``UNBALANCED_QUOTE`` (-1) when a quote opened on the row never closes.
    dialect : dict
        What was detected: format, encoding, separator.
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    malformed: list[tuple[int, int, int]] = field(default_factory=list)
    dialect: dict[str, str] = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        """Records read, well-formed or not (blank lines are not records)."""
        return len(self.frame) + len(self.malformed)


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    # Windows-1252 leaves five bytes undefined; latin-1 gives them a (control) character,
    # which validation then refuses, instead of failing the whole file.
    chunk = error.object[error.start : error.end]
    return chunk.decode("cp1252", errors="ignore") or chunk.decode("latin-1"), error.end


codecs.register_error("screening_cp1252", _cp1252_fallback)


def read_head(path: Path) -> bytes:
    """The first :data:`SNIFF_BYTES` of a file, or a :class:`FileError` saying why it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise FileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileError(f"{path}: is a folder, not a file") from None
    except OSError as error:
        raise FileError(f"{path}: cannot be read ({error.strerror})") from None


def detect_format(path: Path, head: bytes) -> Format:
    """Tell the format from the first bytes, else from the suffix."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    suffix = path.suffix.casefold()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    return "csv"


def read_table(
    path: str | os.PathLike[str],
    *,
    file_format: Format | None = None,
    separator: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read a jobcenter export into text cells, detecting its dialect.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    file_format : {"csv", "xlsx", "parquet"}, optional
        Override the detected format.
    separator : str, optional
        Override the detected CSV field separator.
    encoding : str, optional
        Override the detected CSV encoding (for example ``"cp1252"``).

    Returns
    -------
    RawTable

    Raises
    ------
    FileError
        The file is missing, unreadable, empty, or not a table.
    """
    path = Path(path)
    head = read_head(path)
    file_format = file_format or detect_format(path, head)
    if file_format == "parquet":
        return _read_parquet(path)
    if file_format == "xlsx":
        return _read_xlsx(path)
    return _read_csv(path, separator=separator, encoding=encoding)


# --- CSV ------------------------------------------------------------------------------------


def _decode(data: bytes, encoding: str | None) -> tuple[bytes, str]:
    """Return UTF-8 bytes (no BOM) and the encoding found."""
    if encoding:
        try:
            return data.decode(encoding).encode("utf-8"), encoding
        except (LookupError, UnicodeDecodeError) as error:
            raise FileError(f"cannot decode the file as {encoding}: {error}") from None
    found = "utf-8"
    if data.startswith(_UTF8_BOM):
        data, found = data[len(_UTF8_BOM) :], "utf-8-sig"
    if data.isascii():  # UTF-8 already, found without decoding the whole file
        return data, found
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # Not (only) UTF-8: Danish Excel's Windows-1252, possibly mixed with UTF-8 lines.
        return _utf8_from_mixed(data), "cp1252"
    return data, found


def _non_ascii_positions(data: bytes) -> np.ndarray:
    """Positions of the bytes from 0x80 up, looked for eight bytes at a time (they are few)."""
    octets = np.frombuffer(data, dtype=np.uint8)
    whole = len(octets) // 8 * 8
    words = np.flatnonzero(octets[:whole].view(np.uint64) & np.uint64(0x8080808080808080))
    candidates = (words[:, None] * 8 + np.arange(8)).ravel()
    return np.concatenate([candidates[octets[candidates] >= 0x80], whole + np.flatnonzero(octets[whole:] >= 0x80)])


def _utf8_from_mixed(data: bytes) -> bytes:
    """``data.decode("utf-8", errors="screening_cp1252").encode("utf-8")``, decoding only the non-ASCII bytes.

    An ASCII byte ends any UTF-8 sequence, so each run of non-ASCII bytes decodes on
    its own, the same way wherever it stands; the few distinct runs (Danish letters)
    are decoded once each and the ASCII between them is copied as it is.
    """
    high = _non_ascii_positions(data)
    if not len(high):
        return data
    breaks = np.flatnonzero(np.diff(high) != 1) + 1
    starts, ends = high[np.r_[0, breaks]].tolist(), (high[np.r_[breaks - 1, len(high) - 1]] + 1).tolist()
    decoded: dict[bytes, bytes] = {}
    pieces, copied = [], 0
    for start, end in zip(starts, ends):
        run = data[start:end]
        if run not in decoded:
            decoded[run] = run.decode("utf-8", errors="screening_cp1252").encode("utf-8")
        pieces += (data[copied:start], decoded[run])
        copied = end
    pieces.append(data[copied:])
    return b"".join(pieces)


def _header_and_separator(text_head: str, separator: str | None) -> tuple[list[str], str]:
    first_line = text_head.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise FileError("the first line is blank: expected a header row with column names")
    if separator is None:
        counts = {sep: first_line.count(sep) for sep in SEPARATORS}
        separator = max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","
    try:
        header = next(csv.reader([first_line], delimiter=separator))
    except (csv.Error, StopIteration):
        raise FileError("the header row cannot be read as CSV") from None
    return header, separator


def _check_text(head: bytes) -> None:
    if b"\x00" in head:
        raise FileError("the file is binary, not a text table (CSV, .xlsx or Parquet expected)")


def arrow_csv_options(names: list[str], separator: str, on_malformed: Callable[[pacsv.InvalidRow], str],
                      **read: object) -> dict[str, object]:
    """How Arrow reads a form file: every cell text (blank = missing), the header skipped, quoted line breaks kept."""
    return {
        "read_options": pacsv.ReadOptions(column_names=names, skip_rows=1, **read),
        "parse_options": pacsv.ParseOptions(delimiter=separator, newlines_in_values=True,
                                            invalid_row_handler=on_malformed),
        "convert_options": pacsv.ConvertOptions(
            column_types={name: pa.large_string() for name in names},  # pandas' own: no copy to pandas
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
        ),
    }


def _read_csv(path: Path, *, separator: str | None, encoding: str | None) -> RawTable:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FileError(f"{path}: cannot be read ({error.strerror})") from None
    if not _ANYTHING.search(raw):  # what bytes.strip would leave, without copying the file
        raise FileError("the file is empty")
    if encoding is None and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-separated.
        try:
            raw, encoding = raw.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError:
            raise FileError("the file starts like UTF-16 text but cannot be decoded as UTF-16") from None
        found_encoding = "utf-16"
        data = raw
    else:
        if encoding is None:
            _check_text(raw[:SNIFF_BYTES])  # before decoding: garbage is refused without the cost
        data, found_encoding = _decode(raw, encoding)
    _check_text(data[:SNIFF_BYTES])
    del raw
    header, separator = _header_and_separator(data[:SNIFF_BYTES].decode("utf-8", "replace"), separator)
    dialect = {"format": "csv", "encoding": found_encoding, "separator": separator}
    names = [f"c{i}" for i in range(len(header))]
    malformed: list[tuple[int, int, int]] = []

    def note_malformed(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number or -1, row.actual_columns, row.expected_columns))
        return "skip"

    try:
        table = pacsv.read_csv(io.BytesIO(data), **arrow_csv_options(names, separator, note_malformed))
    except (pa.ArrowInvalid, pa.ArrowException):
        table = None
    if table is None or malformed or blank_line_before_content(data):
        # Rare, broken files: the standard library's reader numbers every record exactly.
        return _read_csv_slowly(data, header, separator, dialect)
    frame = _to_text_frame(table, header)
    return RawTable(frame=frame, row_numbers=np.arange(2, len(frame) + 2), dialect=dialect)


#: ``fields_found`` of a malformed record whose quote never closes.
UNBALANCED_QUOTE = -1
#: ``fields_found`` of a blank line: no record, but a row of the file as a spreadsheet shows it.
BLANK_LINE = -2
_EMPTY_LINE = re.compile(rb"\n\r?\n")
_CONTENT = re.compile(rb"\S")


def blank_line_before_content(data: bytes, start: int = 0) -> bool:
    """Whether an empty line comes before more content: Arrow would skip it and number later rows one short."""
    found = _EMPTY_LINE.search(data, start)
    return found is not None and _CONTENT.search(data, found.end()) is not None


#: How many physical lines a quoted value may span before an open quote is judged unbalanced.
MAX_LINES_PER_RECORD = 50


def _split_record(text: str, separator: str) -> list[list[str]]:
    try:
        return [record for record in csv.reader(io.StringIO(text, newline=""), delimiter=separator) if record]
    except csv.Error:
        return []


def _records(lines: Iterable[str], separator: str, width: int) -> Iterator[tuple[list[str] | None, int]]:
    """Yield ``(fields or None, fields_found)`` per record, resilient to unbalanced quotes.

    A line whose quotes are balanced is one record. A line with an open quote is
    joined with the following lines until the quotes balance (a value spanning
    lines); if that does not give exactly one record of the header's width within
    ``MAX_LINES_PER_RECORD`` lines, the line alone is malformed and reading goes on
    at the next line, so one stray quote never swallows the forms after it.
    ``lines`` may be any iterable (a file is read line by line, never whole).
    """
    source = iter(lines)
    ahead: collections.deque[str] = collections.deque()

    def next_line() -> str | None:
        if ahead:
            return ahead.popleft()
        return next(source, None)

    while (line := next_line()) is not None:
        if not line.strip():  # not a record, but a row in a spreadsheet: it counts for the rows after it
            yield None, BLANK_LINE
            continue
        if line.count('"') % 2 == 0:
            fields = _split_record(line, separator)
            found = fields[0] if len(fields) == 1 else None
            yield (found if found is not None and len(found) == width else None), (len(found) if found else 0)
            continue
        while len(ahead) < MAX_LINES_PER_RECORD and (more := next(source, None)) is not None:
            ahead.append(more)
        joined = line
        for used, extra in enumerate(ahead, start=1):
            joined += "\n" + extra
            if joined.count('"') % 2 == 0:
                fields = _split_record(joined, separator)
                if len(fields) == 1 and len(fields[0]) == width:
                    for _ in range(used):
                        ahead.popleft()
                    yield fields[0], width
                    break
                yield None, UNBALANCED_QUOTE
                break
        else:
            yield None, UNBALANCED_QUOTE


def _read_csv_slowly(data: bytes, header: list[str], separator: str, dialect: dict[str, str]) -> RawTable:
    lines = [line[:-1] if line.endswith("\r") else line for line in data.decode("utf-8").split("\n")]
    records, numbers, malformed = [], [], []
    row_number = 1
    for fields, found in _records(lines[1:], separator, len(header)):
        row_number += 1
        if found == BLANK_LINE:
            continue
        if fields is None:
            malformed.append((row_number, found, len(header)))
        else:
            records.append(fields)
            numbers.append(row_number)
    return RawTable(frame=records_frame(records, header), row_numbers=np.asarray(numbers, dtype=np.int64),
                    malformed=malformed, dialect={**dialect, "reader": "python"})


def records_frame(records: list[list[str]], header: list[str]) -> pd.DataFrame:
    """Records split by the line-aware reader as a text frame (an empty cell is missing)."""
    columns = list(zip(*records)) if records else [()] * len(header)
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    table = pa.table({name: pc.if_else(pc.equal(col, ""), None, col)
                      for name, col in zip(table.column_names, table.columns)})
    return _to_text_frame(table, header)


def _to_text_frame(table: pa.Table, header: list[str]) -> pd.DataFrame:
    """A pandas frame of ``str`` columns named as in the file, keeping positions for blank names."""
    frame = table.to_pandas(types_mapper={pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE}.get)
    frame.columns = pd.Index(header, dtype=object)
    return frame


# --- Parquet and Excel ---------------------------------------------------------------------


def _arrow_to_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pc.strftime(column, format="%Y-%m-%d")
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
    if pa.types.is_floating(kind):
        # 45.0 is "45", as a person typed it; other values keep their shortest form.
        return pc.cast(column, pa.string())
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column.cast(pa.string())
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise FileError(f"a column of type {kind} cannot be read as form values") from None


def _read_parquet(path: Path) -> RawTable:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as error:
        raise FileError(f"not a readable Parquet file: {library_message(error)}") from None
    frame = parquet_frame(table, [str(name) for name in table.column_names])
    return RawTable(frame=frame, row_numbers=np.arange(2, len(frame) + 2), dialect={"format": "parquet"})


def parquet_frame(table: pa.Table, header: list[str]) -> pd.DataFrame:
    """Typed Parquet columns as the text a CSV would hold (blank or white space only = missing)."""
    text = pa.table({f"c{i}": _arrow_to_text(col) for i, col in enumerate(table.columns)})
    if text.num_columns:
        text = pa.table({name: pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), None, col)
                         for name, col in zip(text.column_names, text.columns)})
    return _to_text_frame(text, header)


def _excel_cell(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        return value.isoformat() if not isinstance(value, dt.timedelta) else str(value)
    return str(value)


def _read_xlsx(path: Path) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheet_names:
            raise FileError("the workbook has no sheets")
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except FileError:
        raise
    except Exception as error:  # calamine raises its own error types for broken workbooks
        raise FileError(f"not a readable .xlsx workbook: {library_message(error)}") from None
    if not rows or not any(cell not in (None, "") for cell in rows[0]):
        raise FileError("the first sheet is empty: expected a header row with column names")
    header = [str(_excel_cell(cell) or "") for cell in rows[0]]
    width = len(header)
    records, numbers = [], []
    for number, row in enumerate(rows[1:], start=2):
        cells = [_excel_cell(cell) for cell in row[:width]] + [None] * (width - len(row))
        if any(cell is not None for cell in cells):
            records.append(cells)
            numbers.append(number)
    columns = list(zip(*records)) if records else [()] * width
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    frame = _to_text_frame(table, header)
    return RawTable(frame=frame, row_numbers=np.asarray(numbers, dtype=np.int64), dialect={"format": "xlsx", "sheet": workbook.sheet_names[0]})

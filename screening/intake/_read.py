"""The one reader of the tables jobcenters really export: CSV in any of its Danish dialects, .xlsx, Parquet.

:class:`ChunkedTable` reads a file ``chunk_rows`` forms at a time; reading a whole
file (:func:`read_table`) is its one-chunk case. Every chunk is a
:class:`~screening.intake.RawTable` whose cells are all text (missing = NA), so
that one parsing path serves every format and the same form gives the same risk
whatever file it came in. How bytes become text, and how the dialect is
detected, is :mod:`._decode`; how typed values become text, :mod:`._cells`.

- CSV is decoded on the way in and parsed by Arrow's streaming CSV reader, so
  memory depends on the chunk size, not on the file. A file with a record Arrow
  cannot split, or with an empty line before more content (Arrow would skip it
  and number the rows after it one short), is read by the line-aware reader
  (:mod:`._records`) instead, line by line.
- Parquet is read a batch at a time; typed columns become the text a CSV holds.
- An ``.xlsx`` sheet (at most 1,048,576 rows) is read whole and handed out in chunks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from screening.intake._cells import excel_cell, parquet_frame, to_text_frame
from screening.intake._decode import (
    SNIFF_BYTES,
    Format,
    check_text,
    decoding_mode,
    detect_format,
    has_content,
    header_and_separator,
    open_decoded,
    read_head,
)
from screening.intake._privacy import library_message, mask_cpr
from screening.intake._records import BLANK_LINE, records, records_frame
from screening.intake._table import FileError, RawTable

#: Forms per chunk when scoring, unless asked otherwise (a form costs ~1 KB while it is scored).
DEFAULT_CHUNK_ROWS = 250_000
#: Forms per chunk when only validating (~0.5 KB a form): a million-form week is read once.
VALIDATE_CHUNK_ROWS = 1_000_000
#: Arrow's CSV block. A record may run over into the next block; a longer one (a hostile file) goes to the
#: line-aware reader. Arrow parses a whole block before the first batch comes out: 16 MB kept the first
#: chunk 0.2-0.3 s longer from the workers (a million forms 5.95 -> 5.43 s, median of 6 side by side).
ARROW_BLOCK_BYTES = 4 * 1024 * 1024
T = TypeVar("T")


class _Restart(Exception):
    """Arrow could not read the file as CSV: it must be read again with the line-aware reader."""


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


def _read_xlsx(path: Path) -> RawTable:
    from python_calamine import CalamineWorkbook

    try:  # by its bytes, as detect_format found it: a workbook named .xls is still read as the .xlsx it is
        with path.open("rb") as handle:
            workbook = CalamineWorkbook.from_filelike(handle)
        if not workbook.sheet_names:
            raise FileError("no_sheets")
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except FileError:
        raise
    except Exception as error:  # calamine raises its own error types for broken workbooks
        raise FileError("unreadable_xlsx", detail=library_message(error)) from None
    if not rows or not any(cell not in (None, "") for cell in rows[0]):
        raise FileError("empty_sheet")
    header = [str(excel_cell(cell) or "") for cell in rows[0]]
    width = len(header)
    cells_of_forms, numbers = [], []
    for number, row in enumerate(rows[1:], start=2):
        cells = [excel_cell(cell) for cell in row[:width]] + [None] * (width - len(row))
        if any(cell is not None for cell in cells):
            cells_of_forms.append(cells)
            numbers.append(number)
    columns = list(zip(*cells_of_forms)) if cells_of_forms else [()] * width
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    dialect = {"format": "xlsx", "sheet": mask_cpr(str(workbook.sheet_names[0]))}
    if len(workbook.sheet_names) > 1:  # only the first is read: the others are named, so none is lost unseen
        dialect["other_sheets"] = ", ".join(mask_cpr(str(name)) for name in workbook.sheet_names[1:])
    return RawTable(frame=to_text_frame(table, header), row_numbers=np.asarray(numbers, dtype=np.int64),
                    dialect=dialect)


class ChunkedTable:
    """A table file read ``chunk_rows`` forms at a time (all of them at once when ``chunk_rows`` is None).

    Iterating gives :class:`~screening.intake.RawTable` chunks in file order, each
    with its rows' numbers in the whole file; iterating again reads the file again.
    Use :meth:`map_chunks` for a first pass over the whole file: it also settles
    which CSV reader the file needs and the dialect.

    Parameters
    ----------
    path : str or path-like
    chunk_rows : int or None, default DEFAULT_CHUNK_ROWS
        Records per chunk (the last may be shorter); None reads the file as one chunk.
    file_format : {"csv", "xlsx", "parquet"}, optional
        Override the detected format.
    separator : str, optional
        Override the detected CSV field separator.
    encoding : str, optional
        Override the detected CSV encoding (for example ``"cp1252"``).

    Attributes
    ----------
    header : list of str
        The file's column names.
    dialect : dict
        Format, encoding and separator; the encoding is final after a full pass.
    sha256 : str or None
        SHA-256 of the file's bytes, known after a full pass over a CSV file.

    Raises
    ------
    FileError
        On construction, or while iterating, for a problem with the file as a whole:
        missing, unreadable, empty, or not a table.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        chunk_rows: int | None = DEFAULT_CHUNK_ROWS,
        file_format: Format | None = None,
        separator: str | None = None,
        encoding: str | None = None,
    ) -> None:
        if chunk_rows is not None and chunk_rows < 1:
            raise ValueError(f"chunk_rows must be 1 or more, got {chunk_rows}")
        self.path = Path(path)
        self.chunk_rows = int(chunk_rows) if chunk_rows is not None else None
        self._limit = self.chunk_rows or sys.maxsize
        self.sha256: str | None = None
        head = read_head(self.path)
        self.format: Format = file_format or detect_format(self.path, head)
        self._slow = False
        self._xlsx: RawTable | None = None
        if self.format == "csv":
            self._open_csv(head, separator, encoding)
        elif self.format == "parquet":
            self._open_parquet()
        else:
            self._xlsx = _read_xlsx(self.path)
            self.header = [str(name) for name in self._xlsx.frame.columns]
            self.dialect = dict(self._xlsx.dialect)

    # ------------------------------------------------------------------ CSV
    def _open_csv(self, head: bytes, separator: str | None, encoding: str | None) -> None:
        if not has_content(self.path, head):
            raise FileError("empty_file")
        self._mode = decoding_mode(head, encoding)
        with open_decoded(self.path, self._mode) as stream:
            decoded_head = stream.read(SNIFF_BYTES)
            found = stream.raw.found
        check_text(decoded_head)
        self.header, self.separator = header_and_separator(decoded_head.decode("utf-8", "replace"), separator)
        self.dialect = {"format": "csv", "encoding": found, "separator": self.separator}

    def _arrow_chunks(self) -> Iterator[RawTable]:
        names = [f"c{i}" for i in range(len(self.header))]

        def malformed_row(row: pacsv.InvalidRow) -> str:
            return "error"  # Arrow then stops with ArrowInvalid, and the line-aware reader takes over

        stream = open_decoded(self.path, self._mode)
        try:
            reader = pacsv.open_csv(stream, **arrow_csv_options(names, self.separator, malformed_row,
                                                                block_size=ARROW_BLOCK_BYTES, use_threads=True))

            def batches() -> Iterator[pa.RecordBatch]:
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        break
                    if stream.raw.blank_line:  # type: ignore[attr-defined]
                        raise _Restart
                    yield batch
                if stream.raw.blank_line:  # type: ignore[attr-defined]
                    raise _Restart

            empty = pa.schema([pa.field(name, pa.large_string()) for name in names]).empty_table()
            for first, table in self._in_chunks(batches(), empty):
                yield self._numbered(to_text_frame(table, self.header), first)
        except (pa.ArrowInvalid, pa.ArrowException) as error:
            if isinstance(error.__cause__, FileError):
                raise error.__cause__ from None
            raise _Restart from None
        finally:
            self._finish(stream)

    def _in_chunks(self, batches: Iterator[pa.RecordBatch], empty: pa.Table) -> Iterator[tuple[int, pa.Table]]:
        """Record batches regrouped into tables of exactly ``chunk_rows`` rows (the last may be shorter), each with
        the number of rows before it; one empty table for a file without rows."""
        rows = 0
        pending: list[pa.RecordBatch] = []
        pending_rows = 0
        for batch in batches:
            pending.append(batch)
            pending_rows += batch.num_rows
            while pending_rows >= self._limit:
                table = pa.Table.from_batches(pending).combine_chunks()
                yield rows, table.slice(0, self._limit)
                rows += self._limit
                rest = table.slice(self._limit)
                pending, pending_rows = rest.to_batches(), rest.num_rows
        if pending_rows or rows == 0:
            yield rows, (pa.Table.from_batches(pending).combine_chunks() if pending else empty)

    def _numbered(self, frame, first: int) -> RawTable:  # noqa: ANN001 (a text frame)
        """A chunk whose forms are the file's rows ``first + 2 ..`` (the header is row 1)."""
        return RawTable(frame=frame, row_numbers=np.arange(first + 2, first + 2 + len(frame)), dialect=self.dialect)

    def _lines(self, stream) -> Iterator[str]:  # noqa: ANN001 (a decoded stream)
        first = True
        for line in stream:
            text = line.decode("utf-8")
            text = text[:-1] if text.endswith("\n") else text
            text = text[:-1] if text.endswith("\r") else text
            if first:
                first = False  # the header
                continue
            yield text

    def _line_chunks(self) -> Iterator[RawTable]:
        width = len(self.header)
        stream = open_decoded(self.path, self._mode)
        try:
            fields_of_forms: list[list[str]] = []
            numbers: list[int] = []
            malformed: list[tuple[int, int, int]] = []
            row_number = 1
            emitted = False
            for fields, found in records(self._lines(stream), self.separator, width):
                row_number += 1
                if found == BLANK_LINE:
                    continue
                if fields is None:
                    malformed.append((row_number, found, width))
                else:
                    fields_of_forms.append(fields)
                    numbers.append(row_number)
                if len(fields_of_forms) + len(malformed) >= self._limit:
                    yield self._line_chunk(fields_of_forms, numbers, malformed)
                    fields_of_forms, numbers, malformed, emitted = [], [], [], True
            if fields_of_forms or malformed or not emitted:
                yield self._line_chunk(fields_of_forms, numbers, malformed)
        finally:
            self._finish(stream)

    def _line_chunk(self, fields_of_forms: list[list[str]], numbers: list[int],
                    malformed: list[tuple[int, int, int]]) -> RawTable:
        return RawTable(frame=records_frame(fields_of_forms, self.header),
                        row_numbers=np.asarray(numbers, dtype=np.int64), malformed=list(malformed),
                        dialect=self.dialect)

    def _finish(self, stream) -> None:  # noqa: ANN001 (a decoded stream)
        raw = stream.raw
        if raw.complete:  # the whole file went through: its encoding and hash are final
            self.dialect["encoding"] = raw.found
            self.sha256 = raw.sha256.hexdigest()
        stream.close()

    # -------------------------------------------------------------- Parquet
    def _open_parquet(self) -> None:
        import pyarrow.parquet as pq

        try:
            self._parquet = pq.ParquetFile(self.path)
            schema = self._parquet.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as error:
            raise FileError("unreadable_parquet", detail=library_message(error)) from None
        self.header = [str(name) for name in schema.names]
        self.dialect = {"format": "parquet"}

    def _parquet_chunks(self) -> Iterator[RawTable]:
        try:
            batches = self._parquet.iter_batches(batch_size=min(self._limit, 1 << 20))
            for first, table in self._in_chunks(batches, self._parquet.schema_arrow.empty_table()):
                yield self._numbered(parquet_frame(table, self.header), first)
        except (pa.ArrowException, OSError, ValueError) as error:
            raise FileError("unreadable_parquet", detail=library_message(error)) from None

    # ----------------------------------------------------------------- xlsx
    def _xlsx_chunks(self) -> Iterator[RawTable]:
        whole = self._xlsx
        n = len(whole.frame)
        if self.chunk_rows is None:
            yield whole
            return
        for start in range(0, max(n, 1), self.chunk_rows):
            stop = min(start + self.chunk_rows, n)
            yield RawTable(frame=whole.frame.iloc[start:stop].reset_index(drop=True),
                           row_numbers=whole.row_numbers[start:stop], dialect=self.dialect)

    # ---------------------------------------------------------------- passes
    def __iter__(self) -> Iterator[RawTable]:
        if self.format == "parquet":
            return self._parquet_chunks()
        if self.format == "xlsx":
            return self._xlsx_chunks()
        return self._line_chunks() if self._slow else self._same_reader(self._arrow_chunks())

    def _same_reader(self, chunks: Iterator[RawTable]) -> Iterator[RawTable]:
        try:
            yield from chunks
        except _Restart:  # a later pass found what the first did not: the file was changed in between
            raise FileError("changed_while_read", name=self.path.name) from None

    def map_chunks(self, function: Callable[[int, RawTable], T]) -> list[T]:
        """Call ``function(number, chunk)`` on every chunk, in order (numbered from 0); return the results.

        This is the first pass over a file: if Arrow meets a record it cannot split,
        the file is read again from the start with the line-aware reader (and
        later passes use it too), so ``function`` may see chunk 0 again; the
        results cover every record once.
        """
        if self.format != "csv" or self._slow:
            return [function(number, chunk) for number, chunk in enumerate(self)]
        try:
            return [function(number, chunk) for number, chunk in enumerate(self._arrow_chunks())]
        except _Restart:
            self._slow = True
            self.dialect["reader"] = "python"
            return [function(number, chunk) for number, chunk in enumerate(self._line_chunks())]

    def _settled(self) -> dict[str, object]:
        """What a full pass settles (the dialect, the CSV reader, the checksum), to hand to a copy of this table."""
        return {"dialect": dict(self.dialect), "slow": self._slow, "sha256": self.sha256}

    def _settle(self, settled: dict[str, object]) -> None:
        self.dialect, self._slow, self.sha256 = settled["dialect"], settled["slow"], settled["sha256"]

    @property
    def reader(self) -> str:
        """Which CSV reader the file needs: ``"arrow"`` or ``"python"`` (line-aware)."""
        return "python" if self._slow else "arrow"


def read_table(
    path: str | os.PathLike[str],
    *,
    file_format: Format | None = None,
    separator: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read a whole jobcenter export into text cells, detecting its dialect: :class:`ChunkedTable`'s one chunk.

    Parameters
    ----------
    path : str or path-like
        The file to read.
    file_format, separator, encoding : optional
        Override what is detected, as for :class:`ChunkedTable`.

    Returns
    -------
    RawTable

    Raises
    ------
    FileError
        The file is missing, unreadable, empty, or not a table.
    """
    table = ChunkedTable(path, chunk_rows=None, file_format=file_format, separator=separator, encoding=encoding)
    (whole,) = table.map_chunks(lambda number, chunk: chunk)
    return whole

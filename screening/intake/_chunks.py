"""Reading a file of any size a chunk of forms at a time, with exactly the cells :func:`read_table` gives.

:class:`ChunkedTable` reads CSV as a stream: bytes are decoded on the way in
(UTF-8, the Windows-1252 fallback per run of bytes, UTF-16, or a given
encoding, exactly as ``_read`` decodes a whole file) and parsed by Arrow's
streaming CSV reader, so memory depends on the chunk size, not on the file.
A file with a record Arrow cannot split is read by the same line-aware reader
``read_table`` falls back to, line by line. Parquet is read a row group batch at
a time; an ``.xlsx`` sheet (at most 1,048,576 rows) is read whole and handed out
in chunks.

The chunks of a file, put together, are the :class:`~screening.intake.RawTable`
``read_table`` returns for it: the same cells, row numbers and malformed records
(``tests/test_chunks.py``), whatever the chunk size.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from screening.intake._ids import RepeatedIds, fingerprints
from screening.intake._messages import Language
from screening.intake._read import (
    _UTF8_BOM,
    BLANK_LINE,
    SNIFF_BYTES,
    FileError,
    Format,
    RawTable,
    _check_text,
    _header_and_separator,
    _read_xlsx,
    _records,
    _to_text_frame,
    _utf8_from_mixed,
    arrow_csv_options,
    blank_line_before_content,
    detect_format,
    library_message,
    parquet_frame,
    read_head,
    records_frame,
)

if TYPE_CHECKING:
    from screening.intake._validate import Validation

#: Forms per chunk when scoring, unless asked otherwise (a form costs ~1 KB while it is scored).
DEFAULT_CHUNK_ROWS = 250_000
#: Forms per chunk when only validating (~0.5 KB a form): a million-form week is read once.
VALIDATE_CHUNK_ROWS = 1_000_000
#: Bytes read from the file at a time.
READ_BYTES = 4 * 1024 * 1024
#: Arrow's CSV block: larger than any record it must hold in one piece.
ARROW_BLOCK_BYTES = 16 * 1024 * 1024
_WHITESPACE = b" \t\r\n"
_NON_ASCII = bytes(range(0x80, 0x100))
T = TypeVar("T")


class _Restart(Exception):
    """Arrow could not read the file as CSV: it must be read again with the line-aware reader."""


class _DecodedStream(io.RawIOBase):
    """A file's bytes as UTF-8, decoded as ``_read._decode`` decodes a whole file, a block at a time.

    ``mode`` is ``"auto"`` (UTF-8, and Windows-1252 for the runs of bytes that are
    not UTF-8), ``"utf-16"`` or the name of a given encoding. ``found`` is the
    encoding as ``read_table`` reports it, final once the stream is exhausted.
    ``sha256`` is the digest of the raw bytes read so far.
    """

    def __init__(self, path: Path, mode: str) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._mode = mode
        self._pending = b""  # raw bytes of a character cut by a block boundary
        self._out = memoryview(b"")
        self._eof = False
        self._done = False
        self.blank_line = False
        self._blank_pending = False
        self._tail = b""
        self.sha256 = hashlib.sha256()
        self.found = mode
        self._decoder: codecs.IncrementalDecoder | None = None
        first = self._raw_block()
        if mode == "auto":
            self.found = "utf-8"
            if first.startswith(_UTF8_BOM):
                first, self.found = first[len(_UTF8_BOM):], "utf-8-sig"
        elif mode == "utf-16":
            self._decoder = codecs.getincrementaldecoder("utf-16")("strict")
        else:
            try:
                self._decoder = codecs.getincrementaldecoder(mode)("strict")
            except LookupError as error:
                raise FileError(f"cannot decode the file as {mode}: {error}") from None
        self._first = first

    def _raw_block(self) -> bytes:
        block = self._file.read(READ_BYTES)
        self.sha256.update(block)
        if len(block) < READ_BYTES:
            self._eof = True
        return block

    def _decode_block(self, raw: bytes, final: bool) -> bytes:
        if self._decoder is not None:  # UTF-16 or a given encoding: strict, as a whole file would be
            try:
                return self._decoder.decode(raw, final).encode("utf-8")
            except UnicodeDecodeError as error:
                if self._mode == "utf-16":
                    raise FileError("the file starts like UTF-16 text but cannot be decoded as UTF-16") from None
                raise FileError(f"cannot decode the file as {self._mode}: {error}") from None
        data = self._pending + raw
        # A run of non-ASCII bytes is one character or a few Danish letters: it is decoded whole (as
        # ``_read._utf8_from_mixed`` decodes a file), so the run at the end of a block waits for the next.
        cut = len(data) if final else len(data.rstrip(_NON_ASCII))
        data, self._pending = data[:cut], data[cut:]
        if self.found != "cp1252":
            if data.isascii():
                return data
            try:
                data.decode("utf-8")
                return data
            except UnicodeDecodeError:
                self.found = "cp1252"  # from here on, as _read._decode does for the whole file
        return _utf8_from_mixed(data)

    def _refill(self) -> bool:
        while not len(self._out):
            if self._done:
                return False
            if self._first is not None:
                raw, self._first = self._first, None
            else:
                raw = b"" if self._eof else self._raw_block()
            final = self._eof and self._first is None
            self._out = memoryview(self._decode_block(raw, final))
            self._done = final
            self._look_for_blank_lines(self._out)
        return True

    def _look_for_blank_lines(self, block: memoryview) -> None:
        """Note an empty line followed by content (Arrow skips such lines; the rows after them shift)."""
        if self.blank_line or not len(block):
            return
        if self._blank_pending:
            self.blank_line = bool(bytes(block).strip())
            return
        text = self._tail + bytes(block)
        if blank_line_before_content(text):
            self.blank_line = True
        elif b"\n\n" in text or b"\n\r\n" in text:
            self._blank_pending = True  # only blank space after it so far
        self._tail = text[-2:]

    @property
    def complete(self) -> bool:
        """Whether every byte of the file has been read and handed on."""
        return self._done and not len(self._out)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 (a writable buffer)
        if not self._refill():
            return 0
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


class ChunkedTable:
    """A table file read ``chunk_rows`` forms at a time.

    Iterating gives :class:`~screening.intake.RawTable` chunks in file order, each
    with its rows' numbers in the whole file; iterating again reads the file again.
    Use :meth:`map_chunks` for a first pass over the whole file: it also settles
    which CSV reader the file needs and the dialect.

    Parameters
    ----------
    path : str or path-like
    chunk_rows : int
        Records per chunk (the last may be shorter).
    file_format, separator, encoding : optional
        Override what is detected, as for :func:`~screening.intake.read_table`.

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
        On construction, or while iterating, for a problem with the file as a whole.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        file_format: Format | None = None,
        separator: str | None = None,
        encoding: str | None = None,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be 1 or more, got {chunk_rows}")
        self.path = Path(path)
        self.chunk_rows = int(chunk_rows)
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
        if not self._has_content(head):
            raise FileError("the file is empty")
        if encoding is None and head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self._mode = "utf-16"
        else:
            if encoding is None:
                _check_text(head)  # before decoding: garbage is refused without the cost
            self._mode = encoding or "auto"
        with self._stream() as stream:
            decoded_head = stream.read(SNIFF_BYTES)
            found = stream.raw.found
        _check_text(decoded_head)
        self.header, self.separator = _header_and_separator(decoded_head.decode("utf-8", "replace"), separator)
        self.dialect = {"format": "csv", "encoding": found, "separator": self.separator}

    def _has_content(self, head: bytes) -> bool:
        if head.strip(_WHITESPACE + _UTF8_BOM):
            return True
        if len(head) < SNIFF_BYTES:
            return False
        with self.path.open("rb") as handle:  # a long run of blank lines: look on
            handle.seek(len(head))
            while block := handle.read(READ_BYTES):
                if block.strip(_WHITESPACE + _UTF8_BOM):
                    return True
        return False

    def _stream(self) -> io.BufferedReader:
        try:
            return io.BufferedReader(_DecodedStream(self.path, self._mode), buffer_size=READ_BYTES)
        except OSError as error:
            raise FileError(f"{self.path}: cannot be read ({error.strerror})") from None

    def _arrow_chunks(self) -> Iterator[RawTable]:
        names = [f"c{i}" for i in range(len(self.header))]

        def malformed_row(row: pacsv.InvalidRow) -> str:
            return "error"  # Arrow then stops with ArrowInvalid, and the line-aware reader takes over

        stream = self._stream()
        try:
            reader = pacsv.open_csv(stream, **arrow_csv_options(names, self.separator, malformed_row,
                                                                block_size=ARROW_BLOCK_BYTES, use_threads=True))
            rows = 0
            pending: list[pa.RecordBatch] = []
            pending_rows = 0
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                if stream.raw.blank_line:  # type: ignore[attr-defined]
                    raise _Restart
                pending.append(batch)
                pending_rows += batch.num_rows
                while pending_rows >= self.chunk_rows:
                    table = pa.Table.from_batches(pending).combine_chunks()
                    yield self._arrow_chunk(table.slice(0, self.chunk_rows), rows)
                    rows += self.chunk_rows
                    rest = table.slice(self.chunk_rows)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
            if stream.raw.blank_line:  # type: ignore[attr-defined]
                raise _Restart
            if pending_rows or rows == 0:
                table = (pa.Table.from_batches(pending).combine_chunks() if pending
                         else pa.table({name: pa.array([], pa.large_string()) for name in names}))
                yield self._arrow_chunk(table, rows)
        except (pa.ArrowInvalid, pa.ArrowException) as error:
            if isinstance(error.__cause__, FileError):
                raise error.__cause__ from None
            raise _Restart from None
        finally:
            self._finish(stream)

    def _arrow_chunk(self, table: pa.Table, first: int) -> RawTable:
        frame = _to_text_frame(table, self.header)
        return RawTable(frame=frame, row_numbers=np.arange(first + 2, first + 2 + len(frame)), dialect=self.dialect)

    def _lines(self, stream: io.BufferedReader) -> Iterator[str]:
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
        stream = self._stream()
        try:
            records: list[list[str]] = []
            numbers: list[int] = []
            malformed: list[tuple[int, int, int]] = []
            row_number = 1
            emitted = False
            for fields, found in _records(self._lines(stream), self.separator, width):
                row_number += 1
                if found == BLANK_LINE:
                    continue
                if fields is None:
                    malformed.append((row_number, found, width))
                else:
                    records.append(fields)
                    numbers.append(row_number)
                if len(records) + len(malformed) >= self.chunk_rows:
                    yield self._line_chunk(records, numbers, malformed)
                    records, numbers, malformed, emitted = [], [], [], True
            if records or malformed or not emitted:
                yield self._line_chunk(records, numbers, malformed)
        finally:
            self._finish(stream)

    def _line_chunk(self, records: list[list[str]], numbers: list[int],
                    malformed: list[tuple[int, int, int]]) -> RawTable:
        return RawTable(frame=records_frame(records, self.header), row_numbers=np.asarray(numbers, dtype=np.int64),
                        malformed=list(malformed), dialect=self.dialect)

    def _finish(self, stream: io.BufferedReader) -> None:
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
            raise FileError(f"not a readable Parquet file: {library_message(error)}") from None
        self.header = [str(name) for name in schema.names]
        self.dialect = {"format": "parquet"}

    def _parquet_chunks(self) -> Iterator[RawTable]:
        rows = 0
        try:
            batches = self._parquet.iter_batches(batch_size=self.chunk_rows)
            for batch in batches:
                yield self._parquet_chunk(pa.Table.from_batches([batch]), rows)
                rows += batch.num_rows
        except (pa.ArrowException, OSError, ValueError) as error:
            raise FileError(f"not a readable Parquet file: {library_message(error)}") from None
        if rows == 0:
            yield self._parquet_chunk(self._parquet.schema_arrow.empty_table(), 0)

    def _parquet_chunk(self, table: pa.Table, first: int) -> RawTable:
        frame = parquet_frame(table, self.header)
        return RawTable(frame=frame, row_numbers=np.arange(first + 2, first + 2 + len(frame)), dialect=self.dialect)

    # ----------------------------------------------------------------- xlsx
    def _xlsx_chunks(self) -> Iterator[RawTable]:
        whole = self._xlsx
        n = len(whole.frame)
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
            raise FileError(f"{self.path.name} changed while it was being read; run again") from None

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

    @property
    def reader(self) -> str:
        """Which CSV reader the file needs: ``"arrow"`` or ``"python"`` (line-aware)."""
        return "python" if self._slow else "arrow"


@dataclass
class FirstPass:
    """What the first read of a file found.

    Attributes
    ----------
    chunk : RawTable or None
        The file's only chunk, kept so that a file of one chunk is read once.
    duplicates : RepeatedIds or None
        With more than one chunk: the ids repeated anywhere in the file.
    sha256 : str or None
        SHA-256 of the file's bytes (CSV), to notice a file changed before the second pass.
    """

    chunk: RawTable | None
    duplicates: RepeatedIds | None
    sha256: str | None


def first_pass(table: ChunkedTable, *, training: bool = False) -> FirstPass:
    """Read the file once: check its header and find ``case_id`` values repeated anywhere in it.

    Ids are kept as 16-byte fingerprints (``_ids``), not as text, so that this
    pass stays small for any number of forms.

    Raises
    ------
    FileError
        A problem with the file or its header.
    """
    from screening.intake._validate import comparable_case_ids

    def visit(number: int, chunk: RawTable) -> RawTable | np.ndarray:
        # The first chunk is kept whole (a file of one chunk is not read twice); the others give their ids.
        return chunk if number == 0 else fingerprints(comparable_case_ids(chunk, training=training))

    results = table.map_chunks(visit)
    if len(results) == 1:
        return FirstPass(chunk=results[0], duplicates=None, sha256=table.sha256)
    results[0] = fingerprints(comparable_case_ids(results[0], training=training))
    return FirstPass(chunk=None, duplicates=RepeatedIds.of(results), sha256=table.sha256)


def validated_ahead(chunks: Iterable[RawTable], *, duplicates: RepeatedIds | None, training: bool = False,
                    language: Language = "da") -> Iterator[Validation]:
    """Validations of the chunks in order, the next read and validated in a thread while this one is used.

    Reading (Arrow) and scoring (NumPy) release the GIL for most of their work, so
    on two cores they overlap; one chunk more is held in memory.
    """
    from screening.intake._validate import validate_table

    source = iter(chunks)

    def next_validation() -> Validation | None:
        chunk = next(source, None)
        if chunk is None:
            return None
        return validate_table(chunk, training=training, language=language, duplicate_case_ids=duplicates)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="screening-read") as pool:
        ahead = pool.submit(next_validation)
        while (validation := ahead.result()) is not None:
            ahead = pool.submit(next_validation)
            yield validation
            del validation


def validate_in_chunks(table: ChunkedTable, *, training: bool = False, language: Language = "da"
                       ) -> Iterator[Validation]:
    """Both passes over a file: each chunk's :class:`Validation`, as validating the whole file would judge it.

    Raises
    ------
    FileError
        A problem with the file, or it changed between the passes.
    """
    first = first_pass(table, training=training)
    chunks: Iterable[RawTable] = [first.chunk] if first.chunk is not None else table
    first.chunk = None
    yield from validated_ahead(chunks, duplicates=first.duplicates, training=training, language=language)
    if first.duplicates is not None and table.sha256 != first.sha256:
        raise FileError(f"{table.path.name} changed while it was being read; run again")


@dataclass
class ValidationTotals:
    """A file's validation summed over its chunks: what :class:`Validation` says of a whole file, without the forms.

    Attributes
    ----------
    rows_read, valid_rows, refused_rows, blank_rows : int
    ignored_columns : list of str
    dialect : dict
    notes : collections.Counter
    """

    rows_read: int = 0
    valid_rows: int = 0
    refused_rows: int = 0
    blank_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    dialect: dict[str, str] = field(default_factory=dict)
    notes: Counter = field(default_factory=Counter)
    _by_reason: Counter = field(default_factory=Counter)

    def add(self, validation: Validation) -> None:
        """Count one chunk's validation in."""
        first = self.rows_read == 0 and not self.dialect
        self.rows_read += int(validation.rows_read)
        self.valid_rows += len(validation.valid)
        self.refused_rows += int(validation.refused_rows)
        self.blank_rows += int(validation.blank_rows)
        self._by_reason.update(validation.refused_by_reason())
        self.notes.update(validation.notes)
        if first:
            self.ignored_columns = list(validation.ignored_columns)
            self.dialect = dict(validation.dialect)

    def refused_by_reason(self) -> dict[tuple[str, str], int]:
        """Forms refused per (column, reason kind), over the whole file."""
        return dict(self._by_reason)

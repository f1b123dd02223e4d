"""Bytes to text, and the dialect of a file: every decoding and detection rule of the reader, once.

- format from the file's first bytes (Parquet ``PAR1``, .xlsx is a zip), else the suffix;
- encoding: UTF-8 (with or without BOM); bytes that are not UTF-8 are read as
  Windows-1252, as Danish Excel saves them, one run of bytes at a time, so a file
  mixing both still reads every Danish letter right; UTF-16 with a byte-order
  mark (Excel's "Unicode text"); or an encoding the user names;
- field separator from the header line (``;``, ``,``, tab or ``|``).

A file is decoded as a stream (:class:`DecodedStream`), a block at a time, so
memory does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from pathlib import Path
from typing import Literal

import numpy as np

from screening.intake._privacy import library_message
from screening.intake._table import FileError

Format = Literal["csv", "xlsx", "parquet"]
SEPARATORS = (";", ",", "\t", "|")
#: Bytes looked at to tell the format, the header and the separator.
SNIFF_BYTES = 64 * 1024
#: Bytes read from the file at a time.
READ_BYTES = 4 * 1024 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_WHITESPACE = b" \t\r\n"
_NON_ASCII = bytes(range(0x80, 0x100))
_EMPTY_LINE = re.compile(rb"\n\r?\n")
_CONTENT = re.compile(rb"\S")


def read_head(path: Path) -> bytes:
    """The first :data:`SNIFF_BYTES` of a file, or a :class:`FileError` saying why it cannot be read."""
    try:
        with path.open("rb") as handle:
            return handle.read(SNIFF_BYTES)
    except FileNotFoundError:
        raise FileError("no_such_file", path=str(path)) from None
    except IsADirectoryError:
        raise FileError("is_a_folder", path=str(path)) from None
    except OSError as error:
        raise FileError("cannot_read", path=str(path), detail=error.strerror or type(error).__name__) from None


def detect_format(path: Path, head: bytes) -> Format:
    """Tell the format from the first bytes; the suffix only for bytes that are no text table either.

    Parquet begins with ``PAR1`` and a workbook is a zip (``PK``); a text table under
    either name (a CSV saved as ``week.xlsx``) is read as the CSV it is. Other bytes
    under those names (a password-protected workbook, garbage) go to that format's
    reader, which says why it cannot read them.
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    suffix = path.suffix.casefold()
    if suffix in (".parquet", ".pq", ".xlsx", ".xlsm") and not _looks_like_text(head):
        return "parquet" if suffix in (".parquet", ".pq") else "xlsx"
    return "csv"


def _looks_like_text(head: bytes) -> bool:
    """Whether the first bytes could be a text table: UTF-16 with its byte order mark, or no NUL byte at all."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return bool(head) and b"\x00" not in head[:4096] and not head.startswith(OLE_SIGNATURE)


#: The first bytes of an OLE compound file: Excel 97–2003 (.xls) among others.
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_text(head: bytes) -> None:
    """Refuse a file that is binary, not a text table (saying so of an old Excel workbook)."""
    if head.startswith(OLE_SIGNATURE):
        raise FileError("old_excel")
    if b"\x00" in head:
        raise FileError("binary_file")


def has_content(path: Path, head: bytes) -> bool:
    """Whether the file holds anything but blank space and a byte-order mark (looked for beyond the head too)."""
    if head.strip(_WHITESPACE + _UTF8_BOM):
        return True
    if len(head) < SNIFF_BYTES:
        return False
    with path.open("rb") as handle:  # a long run of blank lines: look on
        handle.seek(len(head))
        while block := handle.read(READ_BYTES):
            if block.strip(_WHITESPACE + _UTF8_BOM):
                return True
    return False


def decoding_mode(head: bytes, encoding: str | None) -> str:
    """How a CSV file is decoded: ``"auto"`` (UTF-8, Windows-1252 runs), ``"utf-16"`` or the encoding given.

    Raises
    ------
    FileError
        The file is binary (checked before decoding, so garbage costs nothing).
    """
    if encoding:
        return encoding
    if head[:2] in _UTF16_BOMS:  # Excel's "Unicode text" export: UTF-16 with a byte-order mark
        return "utf-16"
    check_text(head)
    return "auto"


#: How a tab may be given on a command line, where typing the character itself is awkward.
_TAB_SPELLINGS = ("\\t", "tab")


def separator_given(separator: str) -> str:
    """A separator as a user gave it, as one character (``\\t`` and ``tab`` are a tab).

    Raises
    ------
    FileError
        ``bad_separator``: not one character, or one that cannot separate fields (a quote, a line end).
    """
    if separator.casefold() in _TAB_SPELLINGS:
        return "\t"
    if len(separator) != 1 or separator in '"\r\n' or not separator.isascii():
        raise FileError("bad_separator", separator=repr(separator)[:20])
    return separator


def header_and_separator(text_head: str, separator: str | None) -> tuple[list[str], str]:
    """The header's names and the field separator (the most frequent of :data:`SEPARATORS` in the first line,
    unless ``separator`` is given: :func:`separator_given`)."""
    if separator is not None:
        separator = separator_given(separator)
    first_line = text_head.split("\n", 1)[0].rstrip("\r")
    if not first_line.strip():
        raise FileError("blank_first_line")
    if separator is None:
        counts = {sep: first_line.count(sep) for sep in SEPARATORS}
        separator = max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","
    try:
        header = next(csv.reader([first_line], delimiter=separator))
    except (csv.Error, StopIteration):
        raise FileError("header_not_csv") from None
    return header, separator


def blank_line_before_content(data: bytes, start: int = 0) -> bool:
    """Whether an empty line comes before more content: Arrow would skip it and number later rows one short."""
    found = _EMPTY_LINE.search(data, start)
    return found is not None and _CONTENT.search(data, found.end()) is not None


def _cp1252_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    # Windows-1252 leaves five bytes undefined; latin-1 gives them a (control) character,
    # which validation then refuses, instead of failing the whole file.
    chunk = error.object[error.start : error.end]
    return chunk.decode("cp1252", errors="ignore") or chunk.decode("latin-1"), error.end


codecs.register_error("screening_cp1252", _cp1252_fallback)


def _non_ascii_positions(data: bytes) -> np.ndarray:
    """Positions of the bytes from 0x80 up, looked for eight bytes at a time (they are few)."""
    octets = np.frombuffer(data, dtype=np.uint8)
    whole = len(octets) // 8 * 8
    words = np.flatnonzero(octets[:whole].view(np.uint64) & np.uint64(0x8080808080808080))
    candidates = (words[:, None] * 8 + np.arange(8)).ravel()
    return np.concatenate([candidates[octets[candidates] >= 0x80], whole + np.flatnonzero(octets[whole:] >= 0x80)])


def utf8_from_mixed(data: bytes) -> bytes:
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


class DecodedStream(io.RawIOBase):
    """A file's bytes as UTF-8 (no byte-order mark), decoded a block at a time.

    ``mode`` is what :func:`decoding_mode` gives: ``"auto"`` (UTF-8, and
    Windows-1252 for the runs of bytes that are not UTF-8), ``"utf-16"`` or the
    name of a given encoding (strict). ``found`` is the encoding as the reader
    reports it, final once the stream is exhausted; ``sha256`` the digest of the
    raw bytes read so far; ``blank_line`` whether an empty line came before more
    content (Arrow skips such lines, so the reader must number rows itself).
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
        else:
            try:
                self._decoder = codecs.getincrementaldecoder(mode)("strict")
            except LookupError as error:
                raise FileError("cannot_decode", encoding=mode, detail=library_message(error)) from None
        self._first = first

    def _raw_block(self) -> bytes:
        block = self._file.read(READ_BYTES)
        self.sha256.update(block)
        if len(block) < READ_BYTES:
            self._eof = True
        return block

    def _decode_block(self, raw: bytes, final: bool) -> bytes:
        if self._decoder is not None:  # UTF-16 or a given encoding: strict
            try:
                return self._decoder.decode(raw, final).encode("utf-8")
            except UnicodeDecodeError as error:
                if self._mode == "utf-16":
                    raise FileError("bad_utf16") from None
                raise FileError("cannot_decode", encoding=self._mode, detail=library_message(error)) from None
        data = self._pending + raw
        # A run of non-ASCII bytes is one character or a few Danish letters: it is decoded whole
        # (see utf8_from_mixed), so the run at the end of a block waits for the next.
        cut = len(data) if final else len(data.rstrip(_NON_ASCII))
        data, self._pending = data[:cut], data[cut:]
        if self.found != "cp1252":
            if data.isascii():
                return data
            try:
                data.decode("utf-8")
                return data
            except UnicodeDecodeError:
                self.found = "cp1252"  # from here on: one non-UTF-8 run makes the file Windows-1252
        return utf8_from_mixed(data)

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
        """Note an empty line followed by content (Arrow skips such lines; the rows after them shift).

        One regular-expression scan of the block where it lies (no copy of it), and one
        of the few bytes around its start for an empty line the boundary cuts.
        """
        if self.blank_line or not len(block):
            return
        if self._blank_pending:  # only blank space after an empty line so far: any content now
            self.blank_line = _CONTENT.search(block) is not None
            return
        tail = self._tail
        across = _EMPTY_LINE.search(tail + bytes(block[:2]))
        found = _EMPTY_LINE.search(block) if across is None else None
        if across is not None or found is not None:
            after = max(across.end() - len(tail), 0) if across is not None else found.end()
            if _CONTENT.search(block, after) is not None:
                self.blank_line = True
            else:
                self._blank_pending = True
        self._tail = (tail + bytes(block[-2:]))[-2:]

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


def open_decoded(path: Path, mode: str) -> io.BufferedReader:
    """A buffered :class:`DecodedStream` of the file (its ``raw`` attribute is the stream)."""
    try:
        return io.BufferedReader(DecodedStream(path, mode), buffer_size=READ_BYTES)
    except OSError as error:
        raise FileError("cannot_read", path=str(path), detail=error.strerror or type(error).__name__) from None

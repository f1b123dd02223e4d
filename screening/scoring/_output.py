"""The batch's files: the ranked list and the refused rows, byte for byte the same on every run.

The ranked CSV comes in two dialects (:data:`DIALECTS`):

* ``standard``, the contract's machine format for case systems: UTF-8 without a
  BOM, comma-separated, LF line ends, a header row of column names, values quoted
  only when they must be (a separator, quote or line break inside), risks with
  exactly four decimals and a decimal point, ``contact_this_week`` as
  ``yes``/``no`` (blank without a capacity), priority and queue as the contract's
  words;
* ``danish_excel``, for people opening the file in Danish Excel: UTF-8 with a BOM
  (so ``↑`` and ``hård`` read right), ``;``-separated, decimal comma, CRLF line
  ends, and the headers and words of the workbook in the chosen language
  (:data:`HEADERS`, :func:`value_words`).

In both, text a spreadsheet would run as a formula (starting with one of
:data:`screening._io.FORMULA_STARTS`) gets a leading apostrophe, as
:func:`screening._io.write_csv` does. The file is assembled from whole columns, a
chunk of rows at a time, and moved into place atomically
(:func:`screening._io.atomic_path`): a column of few distinct values (a queue, a
priority, a jobcenter, the model version, a risk's ten thousand) is written as
its values' cells chosen by code, neighbouring ones made one piece of lines
with the separators and the quotes around the next long text, risks side by
side laid out by NumPy; Arrow joins the few pieces of each line; the cells to
quote or neutralise are found by NumPy in the columns' bytes. The Excel
workbook is written by :mod:`._workbook` with the same headers and words.
"""

from __future__ import annotations

import functools
import io
import os
import re
from dataclasses import dataclass
from typing import BinaryIO, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening._io import FORMULA_STARTS, atomic_path
from screening.intake import MAIN_HORIZON, field_label
from screening.scoring._rank import PRIORITIES, QUEUES, RISK_DECIMALS, risk_units

_FORMULA_PATTERN = "^[" + "".join(re.escape(start) for start in FORMULA_STARTS) + "]"

#: The ranked list's file formats: ``standard`` for case systems, ``danish_excel`` for people (see above).
Dialect = Literal["standard", "danish_excel"]


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is spelt: separator, decimal mark, line end, byte-order mark, and whether it is for people
    (headers and words in the consultant's language rather than the contract's names)."""

    separator: str
    decimal: str
    line_end: str
    bom: bool
    for_people: bool

    @property
    def encoding(self) -> str:
        """The text encoding (Python's name) of the file."""
        return "utf-8-sig" if self.bom else "utf-8"


_CSV_DIALECTS = {"standard": CsvDialect(",", ".", "\n", bom=False, for_people=False),
                 "danish_excel": CsvDialect(";", ",", "\r\n", bom=True, for_people=True)}
STANDARD = _CSV_DIALECTS["standard"]
DIALECTS: tuple[str, ...] = tuple(_CSV_DIALECTS)


def csv_dialect(name: str) -> CsvDialect:
    """The dialect called ``name`` (ValueError for a name not in :data:`DIALECTS`)."""
    if name not in _CSV_DIALECTS:
        raise ValueError(f"dialect must be one of {', '.join(DIALECTS)}, got {name!r}")
    return _CSV_DIALECTS[name]


# ------------------------------------------------------------------------------ headers and words
#: Headers of the batch's columns for people (the workbook, the Danish-Excel CSV), by language: the ranked list's
#: and the refused rows'. A column not named here is headed by its own name, so the list may grow a column before
#: this table does; add it here. ``{priorities}`` and the like are filled with :func:`value_words`.
HEADERS: dict[str, dict[str, str]] = {
    "da": {
        "rank": "Rang", "case_id": "Sags-id", "jobcenter": "Jobcenter", "queue": "Kø (sygemeldt)",
        "horizon": "Horisont (uger)", "risk": "Risiko for over horisonten", "priority": "Prioritet ({priorities})",
        "contact_this_week": "Kontakt i denne uge ({flags})", "reasons": "Begrundelser", "questions": "Spørg til",
        "model_version": "Modelversion",
        "row": "Række", "column": "Felt", "value": "Værdi", "reason": "Årsag",
    },
    "en": {
        "rank": "Rank", "case_id": "Case id", "jobcenter": "Jobcenter", "queue": "Queue (off sick)",
        "horizon": "Horizon (weeks)", "risk": "Risk of over the horizon", "priority": "Priority ({priorities})",
        "contact_this_week": "Contact this week ({flags})", "reasons": "Reasons", "questions": "Ask about",
        "model_version": "Model version",
        "row": "Row", "column": "Field", "value": "Value", "reason": "Reason",
    },
}
#: Header of a risk column at a fixed horizon (``risk_8`` ...; ``risk`` itself when the list has no ``horizon``).
RISK_AT: dict[str, str] = {"da": "Risiko for over {weeks} uger", "en": "Risk of over {weeks} weeks"}
#: The queues in words (the contract's ``early``/``late``): how long the person was off sick when the form came.
QUEUE_WORDS: dict[str, dict[str, str]] = {
    "da": {"early": f"under {MAIN_HORIZON} uger", "late": f"{MAIN_HORIZON} uger eller mere"},
    "en": {"early": f"under {MAIN_HORIZON} weeks", "late": f"{MAIN_HORIZON} weeks or more"},
}


@functools.cache
def value_words(language: str) -> dict[str, dict[object, str]]:
    """The words people read for the ranked list's coded values, by column: priority and contact as the weekly
    page says them (one vocabulary for both), queue from :data:`QUEUE_WORDS`."""
    from screening.scoring._page import TEXT  # the page's words; imported late (the page needs the contract)

    text = TEXT[language]
    return {"priority": {name: text[name] for name in PRIORITIES},
            "queue": {name: QUEUE_WORDS[language][name] for name in QUEUES},
            "contact_this_week": {True: text["yes"], False: text["no"]}}


def header_label(name: str, language: str, names: list[str] | tuple[str, ...] = ()) -> str:
    """What people read above column ``name`` (of a table whose columns are ``names``)."""
    if name == "risk" and "horizon" not in names and names:  # one horizon for every row: say which
        return RISK_AT[language].format(weeks=MAIN_HORIZON)
    if name.startswith("risk_") and name[5:].isdigit():
        return RISK_AT[language].format(weeks=int(name[5:]))
    template = HEADERS[language].get(name)
    if template is None:  # a column this table does not know yet: its own name
        return name
    words = value_words(language)
    return template.format(
        priorities="/".join(words["priority"].values()),
        flags="/".join(words["contact_this_week"][flag] for flag in (True, False)))


def header_labels(names: list[str], language: str) -> list[str]:
    """:func:`header_label` of every column."""
    return [header_label(name, language, names) for name in names]


def refused_for_people(refused: pd.DataFrame, language: str) -> pd.DataFrame:
    """Refused rows as a person reads them: each ``column`` named as the summary names it (in Danish its
    label and name, ``alder (age)``; a refusal of the whole row ``(hele rækken)``), a copy."""
    named = refused.copy()
    names = named["column"].astype(object)
    labels = {name: field_label(name, language, with_name=True) for name in names.drop_duplicates()}
    named["column"] = names.map(labels)
    return named


def is_risk(name: str) -> bool:
    """Whether a ranked-list column holds a risk (a probability)."""
    return name == "risk" or name.startswith("risk_")


def _needs_quotes(separator: str) -> str:
    return "[" + re.escape(separator) + '"\r\n]'


def _bytes_of(column: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Where each string of a text column starts and ends in ``values``, and ``values``: its bytes, without a copy."""
    width = np.int64 if pa.types.is_large_string(column.type) or pa.types.is_large_binary(column.type) else np.int32
    buffers = column.buffers()
    if buffers[1] is None:  # an empty array may come without offsets
        return np.zeros(1, dtype=width), np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(buffers[1], dtype=width, count=column.offset + len(column) + 1)[column.offset:]
    values = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, dtype=np.uint8)
    return offsets, values


#: Bytes of a column searched at a time: the passes over them stay in the processor's cache.
_SCAN_BYTES = 1 << 18


def _holding(column: pa.Array, characters: str) -> tuple[np.ndarray, set[str]]:
    """Which strings of a text column hold one of the ASCII ``characters``, and which of these occur at all.

    A byte below 128 is never part of another character in UTF-8, so the column's
    bytes are searched all at once, a block at a time.
    """
    offsets, values = _bytes_of(column)
    values = values[offsets[0]:offsets[-1]]
    block_size = min(len(values), _SCAN_BYTES)
    found, here = np.empty(block_size, dtype=bool), np.empty(block_size, dtype=bool)  # reused: no array per block
    seen: set[str] = set()
    positions = [np.zeros(0, dtype=np.intp)]
    for start in range(0, len(values), _SCAN_BYTES):
        block = values[start:start + _SCAN_BYTES]
        hit, this = found[:len(block)], here[:len(block)]
        hit[:] = False
        for character in characters:
            np.equal(block, ord(character), out=this)
            if this.any():
                seen.add(character)
                hit |= this
        positions.append(np.flatnonzero(hit) + start)
    holding = np.zeros(len(column), dtype=bool)
    holding[np.searchsorted(offsets, np.concatenate(positions) + offsets[0], side="right") - 1] = True
    return holding, seen


#: Whether every formula start is one ASCII character, so that a string's first byte tells (it does today).
_FORMULA_BYTES_ONLY = all(len(start) == 1 and start.isascii() for start in FORMULA_STARTS)
_FORMULA_FIRST_BYTES = np.zeros(256, dtype=bool)
_FORMULA_FIRST_BYTES[[ord(start) for start in FORMULA_STARTS if _FORMULA_BYTES_ONLY]] = True


def _formula_like(column: pa.Array) -> np.ndarray:
    """Whether each string of a text column starts like a formula (nulls do not)."""
    if not _FORMULA_BYTES_ONLY:  # pragma: no cover - a longer formula start: the general search
        return pc.fill_null(pc.match_substring_regex(column, _FORMULA_PATTERN), False).to_numpy(zero_copy_only=False)
    offsets, values = _bytes_of(column)
    starts = offsets[:-1]
    if not len(values):
        return np.zeros(len(column), dtype=bool)
    risky = _FORMULA_FIRST_BYTES[values[np.minimum(starts, len(values) - 1)]] & (offsets[1:] > starts)
    if column.null_count:
        risky &= column.is_valid().to_numpy(zero_copy_only=False)
    return risky


def neutralise(column: pa.Array) -> pa.Array:
    """Prefix text a spreadsheet would read as a formula with an apostrophe (nulls kept)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    risky = _formula_like(column)
    if not risky.any():
        return column
    chosen = pa.array(risky)
    apostrophe, nothing = pa.scalar("'", column.type), pa.scalar("", column.type)
    return pc.replace_with_mask(column, chosen, pc.binary_join_element_wise(apostrophe, column.filter(chosen), nothing))


def _contiguous(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as one array: its only chunk as it is (combining copies even one chunk), else the chunks combined."""
    if not isinstance(column, pa.ChunkedArray):
        return column
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _quoting(column: pa.Array | pa.ChunkedArray, separator: str) -> tuple[pa.Array, np.ndarray | None]:
    """A text column's cells as CSV writes them between their quotes (nulls empty, quotes doubled), and which of
    them take quotes (RFC 4180: those holding the separator, a quote or a line break); None when none does."""
    column = pc.fill_null(_contiguous(column), "")
    special = separator + '"\r\n'
    if special.isascii():
        needs, seen = _holding(column, special)
    else:  # pragma: no cover - a separator outside ASCII: the general search
        needs, seen = pc.match_substring_regex(column, _needs_quotes(separator)).to_numpy(zero_copy_only=False), {'"'}
    if not needs.any():
        return column, None
    return (pc.replace_substring(column, '"', '""') if '"' in seen else column), needs  # only cells to quote hold one


def quote(column: pa.Array, separator: str = ",") -> pa.Array:
    """CSV quoting where needed (RFC 4180), nulls as empty cells."""
    text, needs = _quoting(column, separator)
    if needs is None:
        return text
    marks = pa.array(["", '"'], text.type).take(pa.array(needs.view(np.int8)))  # a quote or nothing, each side
    return pc.binary_join_element_wise(marks, text, marks, pa.scalar("", text.type))


@functools.cache
def _decimal_texts(decimal: str = ".") -> pa.Array:
    """``"0.0000"``, ``"0.0001"``, ..., ``"1.0000"``: every risk as written, indexed by its units."""
    scale = 10**RISK_DECIMALS
    return pa.array([f"{units // scale}{decimal}{units % scale:0{RISK_DECIMALS}d}" for units in range(scale + 1)],
                    pa.string())


def fixed_decimals(risk: np.ndarray, decimal: str = ".") -> pa.Array:
    """Risks in [0, 1] as text with exactly :data:`RISK_DECIMALS` decimals (``0.0425``, ``1.0000``); NaN as null."""
    units = risk_units(risk)  # -1 where there is no risk (NaN): written as an empty cell
    if len(units) and (units.min() < -1 or units.max() > 10**RISK_DECIMALS):  # pragma: no cover - a defect upstream
        raise ValueError("a risk outside [0, 1] cannot be written")
    return _decimal_texts(decimal).take(pa.array(units, mask=units < 0))


def in_words(values: pa.Array, words: dict[object, str]) -> pa.Array:
    """Coded values in words (a value without a word stays as it is; null stays null)."""
    if pa.types.is_boolean(values.type):
        return pc.if_else(values, pa.scalar(words[True]), pa.scalar(words[False]))
    codes = pa.array([code for code in words if isinstance(code, str)], pa.string())
    spelt = pa.array([words[code] for code in codes.to_pylist()], pa.string())
    values = values.cast(pa.string())
    return pc.coalesce(spelt.take(pc.index_in(values, value_set=codes)), values)


_CONTRACT_WORDS = {"contact_this_week": {True: "yes", False: "no"}}


def _words(dialect: CsvDialect, language: str) -> dict[str, dict[object, str]]:
    return value_words(language) if dialect.for_people else _CONTRACT_WORDS


def _cell_text(name: str, values: pa.Array, dialect: CsvDialect, words: dict[str, dict[object, str]]) -> pa.Array:
    """A column of the ranked list as the file's text, before CSV quoting (nulls: empty cells).

    Columns the list may grow are written by their type: numbers as numbers (with the
    dialect's decimal mark), flags and text as words, text neutralised.
    """
    if is_risk(name):
        return fixed_decimals(values.to_numpy(zero_copy_only=False), dialect.decimal)
    if name in words or pa.types.is_boolean(values.type):
        return neutralise(in_words(values, words.get(name, words["contact_this_week"])))
    if pa.types.is_integer(values.type):
        return values.cast(pa.string())
    if pa.types.is_floating(values.type):  # NaN as an empty cell, as null is
        text = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.string()), values.cast(pa.string()))
        return pc.replace_substring(text, ".", dialect.decimal) if dialect.decimal != "." else text
    return neutralise(values.cast(pa.string()))


def ranked_table_columns(table: pa.Table, *, dialect: CsvDialect = STANDARD,
                         language: str = "da") -> dict[str, pa.Array]:
    """The ranked list's typed columns (``_batch.ranked_table``) as the file's text, in file order
    (:func:`_cell_text`)."""
    words = _words(dialect, language)
    return {name: _cell_text(name, _contiguous(values), dialect, words)
            for name, values in zip(table.column_names, table.columns)}


def ranked_columns(ranked: pd.DataFrame) -> dict[str, pa.Array]:
    """The ranked list's DataFrame as the file's text columns, in file order."""
    return ranked_table_columns(pa.Table.from_pandas(ranked, preserve_index=False))


def write_table_lines(table: pa.Table, handle: BinaryIO, *, dialect: CsvDialect = STANDARD,
                      language: str = "da") -> None:
    """Write rows of the ranked list (``_batch.ranked_table``) as CSV lines (no header), a chunk at a time."""
    for start in range(0, table.num_rows, WRITE_CHUNK):
        _write_lines(_table_lines(table.slice(start, WRITE_CHUNK), dialect, language), handle)


#: Rows assembled and written at a time (bounds the memory of a million-row file to a few tens of MB).
WRITE_CHUNK = 131_072


#: Ranked-list columns whose text never needs CSV quotes (digits, a point, yes/no).
PLAIN_COLUMNS = frozenset({"rank", "queue", "horizon", "risk", "risk_8", "risk_13", "risk_22", "risk_52",
                           "contact_this_week"})


def _lines(columns: dict[str, pa.Array], plain: frozenset[str] = frozenset(),
           dialect: CsvDialect = STANDARD) -> pa.Array:
    """CSV lines (with their line ends) of text columns of equal length; ``plain`` columns are never quoted."""
    cells = [pc.fill_null(column, "") if name in plain else quote(column, dialect.separator)
             for name, column in columns.items()]
    cells[-1] = pc.binary_join_element_wise(cells[-1], pa.scalar(dialect.line_end), "")
    lines = pc.binary_join_element_wise(*cells, dialect.separator) if len(cells) > 1 else cells[0]
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    if len(lines) != len(next(iter(columns.values()))):  # pragma: no cover - a row must not go missing silently
        raise RuntimeError("CSV lines were lost while assembling the file")
    return lines


def _write_lines(lines: pa.Array, handle: BinaryIO) -> None:
    """Write the strings of an Arrow array back to back: its values buffer, without copying it."""
    if len(lines) == 0:
        return
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=lines.offset + len(lines) + 1)[lines.offset :]
    handle.write(memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])])


# ----------------------------------------------------------------------------- lines in parts
#: Most texts a part of the lines may choose from, where neighbouring parts are made one (see :class:`_Part`).
_FEW_TEXTS = 4096
#: A column is first judged on this many rows: if more than ``_FEW_FIRST`` of them differ, it is written as text.
_FIRST_ROWS, _FEW_FIRST = 1024, 256


@dataclass(frozen=True, eq=False)
class _Part:
    """What every line of a chunk has in one place: ``texts[codes[row]]`` (``texts[0]`` on every line without
    codes), or the row's cell of a text ``column``.

    A column that takes few values (a queue, a priority, a jobcenter, a risk) is
    written as its values' texts chosen by code; a separator or a line end is one
    text; a quote around a cell is ``""`` or ``'"'`` by row. Neighbouring parts of
    texts are made one part of their combinations (:func:`_together`), so each line
    is joined from few pieces, a long text column being one of them.
    """

    texts: tuple[str, ...] = ()
    codes: np.ndarray | None = None
    column: pa.Array | None = None


@functools.lru_cache(maxsize=64)
def _combinations(first: tuple[str, ...], then: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(a + b for a in first for b in then)


@functools.lru_cache(maxsize=64)
def _text_array(texts: tuple[str, ...]) -> pa.Array:
    return pa.array(texts, pa.string())


def _together(first: _Part, then: _Part) -> _Part | None:
    """Two parts of texts as one (their texts' combinations); None if that makes too many texts.

    Many texts are made only with a separator or a line end (no codes: the same on every
    slice, so the combinations are cached), not with a column that happens to hold one
    value in this slice (a jobcenter, in a list sorted by jobcenter): those would be made
    anew on every slice, ten thousand risks at a time.
    """
    if len(first.texts) * len(then.texts) > _FEW_TEXTS and first.codes is not None and then.codes is not None:
        return None
    if first.codes is None or then.codes is None:  # one text on every line: the other part's codes choose
        codes = then.codes if first.codes is None else first.codes
    else:
        codes = first.codes.astype(np.int64) * len(then.texts) + then.codes
    return _Part(_combinations(first.texts, then.texts), codes)


@functools.cache
def _risk_texts(decimal: str, separator: str | None) -> tuple[str, ...]:
    """Cells of every risk as written, by its units, then the empty cell of no risk (quoted for ``separator``)."""
    cells = pa.concat_arrays([_decimal_texts(decimal), pa.nulls(1, pa.string())])
    return tuple((pc.fill_null(cells, "") if separator is None else quote(cells, separator)).to_pylist())


def _few_values(values: pa.Array) -> tuple[np.ndarray, pa.Array] | None:
    """Codes and distinct values of a column of text, integers or flags that takes few values (judged first on its
    first rows, so that a column of many costs little); None for any other."""
    kind = values.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
            or pa.types.is_boolean(kind)):
        return None
    if len(pc.dictionary_encode(values.slice(0, _FIRST_ROWS)).dictionary) > _FEW_FIRST:
        return None
    encoded = pc.dictionary_encode(values, null_encoding="encode")
    if len(encoded.dictionary) > _FEW_TEXTS:
        return None
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary


def _column_parts(name: str, values: pa.Array, dialect: CsvDialect, words: dict[str, dict[object, str]]
                  ) -> list[_Part]:
    """The parts of the lines that a column of the ranked list gives: its cells (:func:`_cell_text`, quoted)."""
    separator = None if name in PLAIN_COLUMNS else dialect.separator
    if is_risk(name):  # coded by its units: the texts of every risk are made once
        units = risk_units(values.to_numpy(zero_copy_only=False))  # -1 where there is no risk
        if len(units) and (units.min() < -1 or units.max() > 10**RISK_DECIMALS):  # pragma: no cover - a defect
            raise ValueError("a risk outside [0, 1] cannot be written")
        texts = _risk_texts(dialect.decimal, separator)
        return [_Part(texts, np.where(units < 0, len(texts) - 1, units))]
    few = _few_values(values)
    if few is not None:  # the distinct values' cells, chosen by code
        codes, distinct = few
        cells = _cell_text(name, distinct, dialect, words)
        cells = pc.fill_null(cells, "") if separator is None else quote(cells, separator)
        return [_Part(tuple(cells.to_pylist()), codes)]
    text = _cell_text(name, values, dialect, words)
    if separator is None:
        return [_Part(column=pc.fill_null(text, ""))]
    text, needs = _quoting(text, separator)
    if needs is None:
        return [_Part(column=text)]
    quotes = _Part(("", '"'), needs.view(np.int8))
    return [quotes, _Part(column=text), quotes]


def _fixed_width(part: _Part) -> int | None:
    """The bytes of a part of texts on every line of the chunk, if the texts its rows choose are all as long."""
    widths = _text_widths(part.texts)
    if part.codes is None:
        return int(widths[0])
    chosen = widths[part.codes]
    return int(chosen[0]) if len(chosen) and chosen.min() == chosen.max() else None


@functools.lru_cache(maxsize=64)
def _text_widths(texts: tuple[str, ...]) -> np.ndarray:
    return np.array([len(text.encode("utf-8")) for text in texts], dtype=np.int64)


@functools.lru_cache(maxsize=64)
def _text_items(texts: tuple[str, ...], width: int) -> np.ndarray:
    """The texts as items of ``width`` bytes (those of another length as zeros: never chosen)."""
    encoded = [text.encode("utf-8") for text in texts]
    return np.frombuffer(b"".join(item if len(item) == width else bytes(width) for item in encoded), f"V{width}")


def _fixed_width_runs(parts: list[_Part], n: int) -> list[_Part]:
    """Parts of texts that follow one another, each as long on every line (risks), made one text column in NumPy:
    every line's bytes of them side by side, as wide on every line (a cell less for Arrow to join)."""
    widths = [None if part.column is not None or part.codes is None else _fixed_width(part) for part in parts]
    out: list[_Part] = []
    start = 0
    while start < len(parts):
        end = start
        while end < len(parts) and widths[end]:
            end += 1
        if end - start < 2 or n * sum(widths[start:end]) >= 2**31:  # nothing to lay side by side
            out += parts[start:max(end, start + 1)]
            start = max(end, start + 1)
            continue
        layout = np.dtype({"names": [f"part{k}" for k in range(start, end)],
                           "formats": [f"V{width}" for width in widths[start:end]],
                           "offsets": np.cumsum([0, *widths[start:end - 1]]).tolist(),
                           "itemsize": sum(widths[start:end])})
        lines = np.empty(n, layout)
        for k in range(start, end):
            lines[f"part{k}"] = _text_items(parts[k].texts, widths[k])[parts[k].codes]
        offsets = np.arange(n + 1, dtype=np.int32) * np.int32(layout.itemsize)
        column = pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(lines.view(np.uint8)))
        out.append(_Part(column=column))
        start = end
    return out


def _table_lines(table: pa.Table, dialect: CsvDialect, language: str) -> pa.Array:
    """CSV lines (with their line ends) of rows of the ranked list, joined from parts (:class:`_Part`)."""
    words = _words(dialect, language)
    separator = _Part((dialect.separator,))
    parts: list[_Part] = []
    for number, (name, values) in enumerate(zip(table.column_names, table.columns)):
        for part in ([separator] if number else []) + _column_parts(name, _contiguous(values), dialect, words):
            joined = _together(parts[-1], part) if parts and parts[-1].column is None and part.column is None else None
            if joined is None:
                parts.append(part)
            else:
                parts[-1] = joined
    end = _Part((dialect.line_end,))
    joined = _together(parts[-1], end) if parts and parts[-1].column is None else None
    parts[-1:] = [*parts[-1:], end] if joined is None else [joined]
    n = table.num_rows
    parts = _fixed_width_runs(parts, n)
    cells: list[pa.Array | pa.Scalar] = []
    for part in parts:
        if part.column is not None:
            cells.append(part.column)
        elif part.codes is None:
            cells.append(pa.scalar(part.texts[0], pa.string()))
        else:
            cells.append(_text_array(part.texts).take(pa.array(part.codes)))
    if not any(isinstance(cell, pa.Array) for cell in cells):  # the same line on every row
        cells[0] = pa.array([cells[0].as_py()] * n, pa.string())
    lines = pc.binary_join_element_wise(*cells, "") if len(cells) > 1 else cells[0]
    lines = _contiguous(lines)
    if len(lines) != n:  # pragma: no cover - a row must not go missing silently
        raise RuntimeError("CSV lines were lost while assembling the file")
    return lines


def header_line(names: list[str], *, dialect: CsvDialect = STANDARD, language: str = "da") -> bytes:
    """The file's first line: the BOM if the dialect has one, and the header (column names, or labels for people)."""
    labels = header_labels(names, language) if dialect.for_people else names
    line = dialect.separator.join(quote(pa.array(labels, pa.string()), dialect.separator).to_pylist())
    return ("\ufeff" if dialect.bom else "").encode("utf-8") + (line + dialect.line_end).encode("utf-8")


def write_ranked_to(ranked: pd.DataFrame, handle: BinaryIO) -> None:
    """Write the ranked list as CSV to an open binary file, a chunk of rows at a time."""
    handle.write(header_line([str(name) for name in ranked.columns]))
    write_frame_lines(ranked, handle)


def write_frame_lines(ranked: pd.DataFrame, handle: BinaryIO) -> None:
    """Write rows of the ranked list's DataFrame as CSV lines (no header)."""
    write_table_lines(pa.Table.from_pandas(ranked, preserve_index=False), handle)


def csv_bytes(columns: dict[str, pa.Array]) -> bytes:
    """The CSV file of text columns in memory (header, minimal quoting, LF line ends)."""
    buffer = io.BytesIO()
    buffer.write(header_line(list(columns)))
    n = len(next(iter(columns.values()))) if columns else 0
    for start in range(0, n, WRITE_CHUNK):
        _write_lines(_lines({name: column.slice(start, WRITE_CHUNK) for name, column in columns.items()}), buffer)
    return buffer.getvalue()


def ranked_bytes(ranked: pd.DataFrame) -> bytes:
    """The ranked list's CSV file in memory."""
    buffer = io.BytesIO()
    write_ranked_to(ranked, buffer)
    return buffer.getvalue()


def write_ranked(ranked: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the ranked list atomically (see the module docstring for the format)."""
    with atomic_path(path) as temporary, temporary.open("wb") as handle:
        write_ranked_to(ranked, handle)

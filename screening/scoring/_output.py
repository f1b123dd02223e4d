"""The batch's files: the ranked list and the refused rows, byte for byte the same on every run.

The ranked CSV is UTF-8, comma-separated, LF line ends, a header row, values quoted
only when they must be (a comma, quote or line break inside), risks with exactly
four decimals, ``contact_this_week`` as ``yes``/``no`` (blank without a capacity).
Text a spreadsheet would run as a formula (starting with one of
:data:`screening._io.FORMULA_STARTS`) gets a leading apostrophe, as
:func:`screening._io.write_csv` does. The file is assembled by Arrow from whole
columns (a million rows in well under a second) and moved into place atomically
(:func:`screening._io.atomic_path`).
"""

from __future__ import annotations

import functools
import io
import os
import re
from typing import BinaryIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening._io import FORMULA_STARTS, atomic_path
from screening.scoring._rank import RISK_DECIMALS, risk_units

_FORMULA_PATTERN = "^[" + "".join(re.escape(start) for start in FORMULA_STARTS) + "]"
_NEEDS_QUOTES = '[",\r\n]'


def neutralise(column: pa.Array) -> pa.Array:
    """Prefix text a spreadsheet would read as a formula with an apostrophe (nulls kept)."""
    risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA_PATTERN), False)
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)


def quote(column: pa.Array) -> pa.Array:
    """CSV quoting where needed (RFC 4180), nulls as empty cells."""
    column = pc.fill_null(column, "")
    needs = pc.match_substring_regex(column, _NEEDS_QUOTES)
    if not pc.any(needs).as_py():
        return column
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(column, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, column)


@functools.cache
def _decimal_texts() -> pa.Array:
    """``"0.0000"``, ``"0.0001"``, ..., ``"1.0000"``: every risk as written, indexed by its units."""
    scale = 10**RISK_DECIMALS
    return pa.array([f"{units // scale}.{units % scale:0{RISK_DECIMALS}d}" for units in range(scale + 1)], pa.string())


def fixed_decimals(risk: np.ndarray) -> pa.Array:
    """Risks in [0, 1] as text with exactly :data:`RISK_DECIMALS` decimals (``0.0425``, ``1.0000``); NaN as null."""
    units = risk_units(risk)  # -1 where there is no risk (NaN): written as an empty cell
    if len(units) and (units.min() < -1 or units.max() > 10**RISK_DECIMALS):  # pragma: no cover - a defect upstream
        raise ValueError("a risk outside [0, 1] cannot be written")
    return _decimal_texts().take(pa.array(units, mask=units < 0))


def _yes_no(flags: pa.Array) -> pa.Array:
    """``yes``/``no`` per flag; null stays null (no capacity: no marks)."""
    return pc.if_else(flags, pa.scalar("yes"), pa.scalar("no"))


def ranked_table_columns(table: pa.Table) -> dict[str, pa.Array]:
    """The ranked list's typed columns (``_batch.ranked_table``) as the file's text, in file order."""
    columns: dict[str, pa.Array] = {}
    for name, values in zip(table.column_names, table.columns):
        values = values.combine_chunks()
        if name == "rank":
            columns[name] = values.cast(pa.string())
        elif name == "risk" or name.startswith("risk_"):
            columns[name] = fixed_decimals(values.to_numpy(zero_copy_only=False))
        elif name == "contact_this_week":
            columns[name] = _yes_no(values)
        else:
            columns[name] = neutralise(values.cast(pa.string()))
    return columns


def ranked_columns(ranked: pd.DataFrame) -> dict[str, pa.Array]:
    """The ranked list's DataFrame as the file's text columns, in file order."""
    return ranked_table_columns(pa.Table.from_pandas(ranked, preserve_index=False))


def write_table_lines(table: pa.Table, handle: BinaryIO) -> None:
    """Write rows of the ranked list (``_batch.ranked_table``) as CSV lines (no header), a chunk at a time."""
    for start in range(0, table.num_rows, WRITE_CHUNK):
        _write_lines(_lines(ranked_table_columns(table.slice(start, WRITE_CHUNK)), PLAIN_COLUMNS), handle)


#: Rows assembled and written at a time (bounds the memory of a million-row file to a few tens of MB).
WRITE_CHUNK = 131_072


#: Ranked-list columns whose text never needs CSV quotes (digits, a point, yes/no).
PLAIN_COLUMNS = frozenset({"rank", "queue", "horizon", "risk", "risk_8", "risk_13", "risk_22", "risk_52",
                           "contact_this_week"})


def _lines(columns: dict[str, pa.Array], plain: frozenset[str] = frozenset()) -> pa.Array:
    """CSV lines (with their line ends) of text columns of equal length; ``plain`` columns are never quoted."""
    cells = [pc.fill_null(column, "") if name in plain else quote(column) for name, column in columns.items()]
    cells[-1] = pc.binary_join_element_wise(cells[-1], pa.scalar("\n"), "")
    lines = pc.binary_join_element_wise(*cells, ",") if len(cells) > 1 else cells[0]
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


def header_line(names: list[str]) -> bytes:
    return (",".join(quote(pa.array(names, pa.string())).to_pylist()) + "\n").encode("utf-8")


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

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

import os
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening._io import FORMULA_STARTS, atomic_path, write_csv
from screening.scoring._rank import RISK_DECIMALS, risk_units

_FORMULA_PATTERN = "^[" + "".join(re.escape(start) for start in FORMULA_STARTS) + "]"
_NEEDS_QUOTES = '[",\r\n]'


def _text(values: pd.Series) -> pa.Array:
    array = pa.array(values.astype(object).where(values.notna(), None) if values.dtype == object else values,
                     type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


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


def fixed_decimals(risk: np.ndarray) -> pa.Array:
    """Risks in [0, 1] as text with exactly :data:`RISK_DECIMALS` decimals (``0.0425``, ``1.0000``)."""
    units = pa.array(risk_units(risk)).cast(pa.string())
    padded = pc.utf8_lpad(units, width=RISK_DECIMALS + 1, padding="0")
    whole = pc.utf8_slice_codeunits(padded, 0, -RISK_DECIMALS)
    fraction = pc.utf8_slice_codeunits(padded, -RISK_DECIMALS)
    return pc.binary_join_element_wise(whole, fraction, ".")


def _yes_no(values: pd.Series) -> pa.Array:
    flags = values.astype("boolean")
    text = np.where(flags.to_numpy(dtype=np.float64, na_value=np.nan) == 1.0, "yes", "no").astype(object)
    text[flags.isna().to_numpy()] = None
    return pa.array(text, pa.string())


def ranked_columns(ranked: pd.DataFrame) -> dict[str, pa.Array]:
    """The ranked list as text columns, in file order."""
    columns: dict[str, pa.Array] = {}
    for name in ranked.columns:
        values = ranked[name]
        if name == "rank":
            columns[name] = pa.array(values.to_numpy(dtype=np.int64)).cast(pa.string())
        elif name == "risk" or name.startswith("risk_"):
            columns[name] = fixed_decimals(values.to_numpy(dtype=np.float64))
        elif name == "contact_this_week":
            columns[name] = _yes_no(values)
        else:
            columns[name] = neutralise(_text(values))
    return columns


def csv_bytes(columns: dict[str, pa.Array]) -> bytes:
    """The CSV file of text columns: header, minimal quoting, LF line ends."""
    header = (",".join(quote(pa.array(list(columns), pa.string())).to_pylist()) + "\n").encode("utf-8")
    n = len(next(iter(columns.values()))) if columns else 0
    if n == 0:
        return header
    # large_string: 64-bit offsets, so even a file over 2 GB assembles.
    cells = [quote(column).cast(pa.large_string()) for column in columns.values()]
    lines = pc.binary_join_element_wise(*cells, pa.scalar(",", pa.large_string()))
    lines = pc.binary_join_element_wise(lines, pa.scalar("\n", pa.large_string()), pa.scalar("", pa.large_string()))
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    if len(lines) != n:  # pragma: no cover - never expected; a row must not go missing silently
        raise RuntimeError(f"CSV assembled {len(lines)} of {n} rows")
    # The values buffer of a string array is its strings back to back: the file body.
    offsets, data = lines.buffers()[1], lines.buffers()[2]
    positions = np.frombuffer(offsets, dtype=np.int64, count=lines.offset + len(lines) + 1)[lines.offset :]
    return header + memoryview(data)[int(positions[0]) : int(positions[-1])].tobytes()


def write_ranked(ranked: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write the ranked list atomically (see the module docstring for the format)."""
    content = csv_bytes(ranked_columns(ranked))
    with atomic_path(path) as temporary:
        temporary.write_bytes(content)


def write_refused(refused: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write refused rows as the validate command does: ``row, case_id, column, value, reason``."""
    write_csv(refused.drop(columns=[name for name in ("kind",) if name in refused.columns]), path)

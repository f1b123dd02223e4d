"""Values as the text a file holds: one rule for Parquet's typed columns, Excel's cells and forms in memory.

Validation reads text. A value typed somewhere else (a Parquet float, an Excel
date, a number a case system sends) is first written as the text a CSV would
hold, so that the same form gives the same answer whatever it came in:
``45`` and ``45.0`` are ``"45"``, yes/no are ``"true"``/``"false"``, a date or
time stamp is its ISO day, a blank is missing.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from screening.intake._table import TEXT_DTYPE, FileError, RawTable


@functools.lru_cache(maxsize=65_536)
def float_text(value: float) -> str:
    """A number as Arrow writes a float column as text (:func:`text_frame`, Parquet): ``40.0`` is ``"40"``.

    One rule for a float alone and a column of them, so that ``40.0`` sent in a
    mapping, in a typed column or in a Parquet file is the same text.
    """
    return pc.cast(pa.scalar(value, pa.float64()), pa.string()).as_py()


def cell_text(value: object) -> str | None:
    """A value of a form as the text a file would hold (None when blank).

    Numbers keep their value (``45`` and ``45.0`` are both ``"45"``, :func:`float_text`), yes/no become
    ``true``/``false``, dates their ISO day; text is passed on as it is.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else float_text(float(value))
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def text_frame(forms: pd.DataFrame) -> pd.DataFrame:
    """Forms of any dtypes as text cells (``str`` columns, blanks NA), as a file reader returns them."""
    columns = {}
    for name in forms.columns:
        values = forms[name]
        if values.dtype == "str":
            text = values
        elif pd.api.types.is_datetime64_any_dtype(values.dtype):
            text = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
            # Arrow writes 45.0 as "45" and 3.5 as "3.5", blanks as nulls, a million values at once
            text = pd.Series(pa.array(values, from_pandas=True).cast(pa.string()).to_numpy(zero_copy_only=False),
                             index=values.index, dtype=object)
        else:
            text = pd.Series([cell_text(value) for value in values.tolist()], index=values.index, dtype=object)
        columns[name] = pd.Series(text.to_numpy(dtype=object, na_value=None), dtype=TEXT_DTYPE)
    frame = pd.DataFrame(columns)
    frame.columns = pd.Index([str(name) for name in forms.columns], dtype=object)
    return frame


def forms_table(forms: pd.DataFrame, *, first_row: int = 2) -> RawTable:
    """A table of forms in memory (cells as text or typed) as a file reader returns it.

    Row numbers count from ``first_row`` (2: the row under a header) in the
    frame's order; the frame's index is not used.
    """
    return RawTable(frame=text_frame(forms), row_numbers=np.arange(first_row, first_row + len(forms), dtype=np.int64))


def to_text_frame(table: pa.Table, header: list[str]) -> pd.DataFrame:
    """A pandas frame of ``str`` columns named as in the file, keeping positions for blank names."""
    frame = table.to_pandas(types_mapper={pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE}.get)
    frame.columns = pd.Index(header, dtype=object)
    return frame


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
        raise FileError("unreadable_column_type", type=str(kind)) from None


def parquet_frame(table: pa.Table, header: list[str]) -> pd.DataFrame:
    """Typed Parquet columns as the text a CSV would hold (blank or white space only = missing)."""
    text = pa.table({f"c{i}": _arrow_to_text(col) for i, col in enumerate(table.columns)})
    if text.num_columns:
        text = pa.table({name: pc.if_else(pc.equal(pc.utf8_trim_whitespace(col), ""), None, col)
                         for name, col in zip(text.column_names, text.columns)})
    return to_text_frame(text, header)


def excel_cell(value: object) -> str | None:
    """A cell of a workbook (as python-calamine gives it) as text."""
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

"""What is personal never leaves the engine: CPR-shaped numbers found and masked, one definition for all.

A Danish CPR number (``DDMMYY-SSSS``, ``DDMMYY SSSS``, ten digits in a row, or the
nine left when a spreadsheet dropped a leading zero of the day) has no place in a
form, a log line, an error message or an answer. Every stage that shows text it
did not write (a cell, an id, a library's error message) masks it with the
functions here; validation refuses such values with :data:`CPR_SEARCH_PATTERN`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.compute as pc

#: The digits of a CPR-shaped number: DDMMYY-SSSS, DDMMYY SSSS, ten digits in a row, or nine where Excel
#: read the number as a number and dropped the day's leading zero (DMMYYSSSS, a day 1-9 and a month 01-12).
CPR_DIGITS = r"\d{6}[- ]?\d{4}|[1-9](?:0[1-9]|1[0-2])\d{6}"
#: A value shaped like a Danish CPR number: :data:`CPR_DIGITS` not inside a longer run of digits.
CPR_PATTERN = rf"(?<!\d)(?:{CPR_DIGITS})(?!\d)"
#: The same test without look-arounds, so that Arrow's RE2 engine runs it (ten times faster).
CPR_SEARCH_PATTERN = rf"(?:^|\D)(?:{CPR_DIGITS})(?:\D|$)"
#: What a CPR-shaped number is replaced by.
CPR_MASK = "******-****"
#: Characters a cell may not hold (and that are replaced when a value is shown).
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_CPR = re.compile(CPR_PATTERN)


def mask_cpr(text: str) -> str:
    """``text`` with every CPR-shaped number replaced by :data:`CPR_MASK`."""
    return _CPR.sub(CPR_MASK, text)


def library_message(error: BaseException) -> str:
    """A library's error about a file, fit to show: its first line, at most 200 characters, no CPR-shaped number.

    Such messages can quote bytes of the file (a Parquet footer's size, a cell).
    """
    lines = str(error).splitlines() or [type(error).__name__]
    return mask_cpr(lines[0])[:200]


def redact(values: pd.Series, *, width: int = 60) -> pd.Series:
    """Values made safe to show: CPR-shaped numbers masked, control characters replaced, long text cut.

    Parameters
    ----------
    values : pandas.Series of str
    width : int, default 60
        Longest text kept; longer values end in an ellipsis.
    """
    text = values.astype("str")
    masked = _may_hold_cpr(text)
    if masked.all():
        text = text.str.replace(CPR_PATTERN, CPR_MASK, regex=True)
    elif masked.any():  # Python's regex engine (the pattern looks around) only where a number may be
        text = text.copy()
        text[masked] = text[masked].str.replace(CPR_PATTERN, CPR_MASK, regex=True).to_numpy()
    text = text.str.replace(CONTROL_PATTERN, "\ufffd", regex=True)
    long = text.str.len() > width
    if long.any():
        text = text.where(~long, text.str.slice(0, width - 1) + "…")
    return text


def _may_hold_cpr(text: pd.Series) -> np.ndarray:
    """Where ``CPR_PATTERN`` may match: any non-ASCII text (Python's ``\\d`` is any digit), else RE2's test without look-arounds."""
    if not (isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow"):
        return np.ones(len(text), dtype=bool)
    column = text.array.__arrow_array__()
    found = pc.or_kleene(pc.invert(pc.string_is_ascii(column)), pc.match_substring_regex(column, CPR_DIGITS))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)

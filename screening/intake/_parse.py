"""Turning text cells into typed values, one parse kind at a time.

Each parser works on the *distinct* values of a column (a week's file has few: ages,
dates, codes), so a million forms cost a few thousand conversions. A parser returns
the typed values and, for each distinct value it could not read, the reason kind
(see ``_messages.REASONS``); ``None`` where the value was read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from screening.intake._contract import Contract, Field

Parsed = tuple[pd.Series, np.ndarray]

#: A value shaped like a Danish CPR number: DDMMYY-SSSS or ten digits in a row.
CPR_PATTERN = r"(?<!\d)\d{6}-?\d{4}(?!\d)"
#: The same test without look-arounds, so that Arrow's RE2 engine runs it (ten times faster).
CPR_SEARCH_PATTERN = r"(?:^|\D)\d{6}-?\d{4}(?:\D|$)"
_CPR = re.compile(CPR_PATTERN)
CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
MAX_CELL_CHARACTERS = 200
DATE_FORMATS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"), "%d-%m-%Y"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "%d.%m.%Y"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%d/%m/%Y"),
)
EARLIEST_DATE = pd.Timestamp("2000-01-01")
LATEST_DATE = pd.Timestamp("2100-12-31")


def redact(values: pd.Series, *, width: int = 60) -> pd.Series:
    """Values made safe to show: CPR-shaped numbers masked, control characters replaced, long text cut.

    Parameters
    ----------
    values : pandas.Series of str
    width : int, default 60
        Longest text kept; longer values end in an ellipsis.
    """
    text = values.astype("str")
    text = text.str.replace(CPR_PATTERN, "******-****", regex=True)
    text = text.str.replace(CONTROL_PATTERN, "\ufffd", regex=True)
    long = text.str.len() > width
    if long.any():
        text = text.where(~long, text.str.slice(0, width - 1) + "…")
    return text


def has_cpr(text: str) -> bool:
    """Whether a text holds a CPR-shaped number."""
    return bool(_CPR.search(text))


def _failures(n: int) -> np.ndarray:
    return np.full(n, None, dtype=object)


def parse_text(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    return uniques.astype("str"), _failures(len(uniques))


def parse_number(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    # "3,5" from Danish Excel and "3.5" are the same number; thousands separators never
    # occur in this contract's ranges, so a comma is always a decimal mark.
    numbers = pd.to_numeric(uniques.str.replace(",", ".", regex=False), errors="coerce").astype("float64")
    failures = _failures(len(uniques))
    failures[numbers.isna().to_numpy()] = "not_a_number"
    failures[np.isinf(numbers.to_numpy())] = "not_finite"
    return numbers.where(np.isfinite(numbers)), failures


def parse_whole(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    numbers, failures = parse_number(uniques, spec, contract)
    fractional = (numbers % 1 != 0) & numbers.notna()
    failures[fractional.to_numpy()] = "not_whole"
    # Values beyond Int64 are out of range anyway; keep them representable until the range check.
    clipped = numbers.where(~fractional).clip(-(2**53), 2**53)
    return clipped.astype("Int64"), failures


def parse_date(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    dates = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    implausible = np.zeros(len(uniques), dtype=bool)
    for pattern, fmt in DATE_FORMATS:
        matches = uniques.str.match(pattern).fillna(False).to_numpy(dtype=bool)
        if matches.any():
            # Parsed at second resolution first: year 9999 is a real date but beyond nanoseconds.
            parsed = pd.to_datetime(uniques[matches], format=fmt, errors="coerce").astype("datetime64[s]")
            plausible = ((parsed >= EARLIEST_DATE) & (parsed <= LATEST_DATE)).to_numpy()
            implausible[np.flatnonzero(matches)[~plausible & parsed.notna().to_numpy()]] = True
            dates.iloc[np.flatnonzero(matches)[plausible]] = parsed[plausible].astype("datetime64[ns]").to_numpy()
    failures = _failures(len(uniques))
    failures[dates.isna().to_numpy()] = "not_a_date"
    failures[implausible] = "implausible_date"
    return dates, failures


def parse_boolean(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    answers = uniques.str.casefold().map(contract.boolean_labels)
    failures = _failures(len(uniques))
    failures[answers.isna().to_numpy()] = "not_yes_no"
    return answers.astype("boolean"), failures


def _code_lookup(spec: Field) -> dict[str, object]:
    lookup: dict[str, object] = {}
    for code in spec.codes:
        lookup[str(code).casefold()] = code
        lookup[str(code).casefold().replace("_", " ")] = code
    lookup.update(spec.labels)
    return lookup


def parse_code(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    lookup = _code_lookup(spec)
    keys = uniques.str.casefold().str.replace(r"\s+", " ", regex=True)
    codes = keys.map(lookup)
    failures = _failures(len(uniques))
    failures[codes.isna().to_numpy()] = "unknown_code"
    integer_codes = spec.minimum is not None  # physical_load: codes 1..4 with a range
    return (codes.astype("Int64") if integer_codes else codes.astype("str")), failures


def parse_icd10(uniques: pd.Series, spec: Field, contract: Contract) -> Parsed:
    from screening.intake._icd10 import normalise_codes

    code, _chapter, _group, invalid = normalise_codes(uniques)
    failures = _failures(len(uniques))
    failures[invalid] = "invalid_icd10"
    return code, failures


PARSERS: dict[str, Callable[[pd.Series, Field, Contract], Parsed]] = {
    "identifier": parse_text,
    "text": parse_text,
    "number": parse_number,
    "whole": parse_whole,
    "date": parse_date,
    "boolean": parse_boolean,
    "code": parse_code,
    "icd10": parse_icd10,
}

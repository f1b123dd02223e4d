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
import pyarrow as pa
import pyarrow.compute as pc

from screening.intake._contract import Contract, Field

Parsed = tuple[pd.Series, np.ndarray]

MAX_CELL_CHARACTERS = 200
#: Date spellings read, in the order they are tried (ISO first, then the Danish day-first ones).
DATE_FORMATS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{1,2}-\d{1,2}-\d{4}$"), "%d-%m-%Y"),
    (re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$"), "%d.%m.%Y"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%d/%m/%Y"),
)
#: A time of day after a date, as case systems and spreadsheets export date-times
#: (``2026-11-16 00:00:00``, ``2026-11-16T08:30``, ``16-11-2026 00:00``, with seconds' fractions and a
#: ``Z`` or UTC offset): read as the day written before it, the time ignored. Only a valid time of day
#: counts: ``2026-11-16 25:00`` is no date.
TIME_OF_DAY = r"[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?$"
EARLIEST_DATE = pd.Timestamp("2000-01-01")
LATEST_DATE = pd.Timestamp("2100-12-31")


def string_buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (``len(values) + 1``, into ``data``) and the UTF-8 bytes of an Arrow string array."""
    if not pa.types.is_large_string(values.type):
        values = values.cast(pa.large_string())
    _, offsets, data = values.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    return offsets, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8))


#: Text that may fail a generic check: a character other than printable ASCII (space,
#: control characters, any non-ASCII letter) or a run of digits shaped like a CPR number.
#: A superset of what ``_privacy.CONTROL_PATTERN``, trimming and ``_privacy.CPR_SEARCH_PATTERN`` can find.
SUSPECT_PATTERN = r"[^!-~]|\d{6}-\d{4}|\d{9}"


def plain_text(values: pa.Array, *, block: int = 64) -> np.ndarray:
    """Which strings certainly pass the generic checks unchanged (trimmed, no control characters, not too long, no CPR).

    For a column where nearly every value is distinct (ids): the values are searched
    ``block`` at a time, as the text they make together (one pass of the regex
    engine over the column's bytes), and only the blocks with a suspect in them are
    left for the exact per-value checks. A match inside a value lies inside its
    block, so no suspect value is missed. Missing and empty values are not plain.
    """
    if not pa.types.is_large_string(values.type):
        values = values.cast(pa.large_string())
    offsets, _ = string_buffers(values)
    lengths = np.diff(offsets)
    plain = (lengths >= 1) & (lengths <= MAX_CELL_CHARACTERS)
    if values.null_count:
        plain &= values.is_valid().to_numpy(zero_copy_only=False)
    if not len(values):
        return plain
    block_offsets = np.append(offsets[:-1][::block], offsets[-1])
    blocks = pa.LargeStringArray.from_buffers(len(block_offsets) - 1, pa.py_buffer(block_offsets), values.buffers()[2])
    suspect = pc.match_substring_regex(blocks, SUSPECT_PATTERN).to_numpy(zero_copy_only=False)
    plain &= ~np.repeat(suspect, block)[: len(values)]
    return plain


#: Strings up to this many bytes are hashed from their bytes; longer ones are compared as they are.
_HASHED_BYTES = 32
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


def duplicated_text(values: pa.Array, present: np.ndarray) -> np.ndarray:
    """Every copy of a string that occurs more than once among the ``present`` ones.

    The same as ``pandas.Series.duplicated(keep=False)`` on those strings, for a
    column of (nearly) all distinct values such as ids: each string is hashed from
    its bytes in numpy, and only the strings whose hash repeats (and any longer
    than ``_HASHED_BYTES``) are compared as text. Equal strings have equal hashes,
    so no duplicate is missed; the comparison drops the hash collisions.
    """
    if not pa.types.is_large_string(values.type):
        values = values.cast(pa.large_string())
    offsets, data = string_buffers(values)
    lengths = np.diff(offsets)
    hashed = present & (lengths <= _HASHED_BYTES)
    region = np.concatenate([data[offsets[0] : offsets[-1]], np.zeros(8, dtype=np.uint8)])
    # An 8-byte little-endian word starting at every byte (unaligned views are fine in numpy).
    words = np.ndarray(shape=(len(region) - 7,), dtype="<u8", buffer=region, strides=(1,))
    starts = (offsets[:-1] - offsets[0])[hashed]
    sizes = lengths[hashed]
    digest = sizes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    for first in range(0, int(sizes.max(initial=0)), 8):
        word = words[np.minimum(starts + first, len(words) - 1)] & _LOW_BYTES[np.clip(sizes - first, 0, 8)]
        digest = (digest ^ word) * np.uint64(0xBF58476D1CE4E5B9)
        digest ^= digest >> np.uint64(31)
    candidates = np.flatnonzero(hashed)[pd.Series(digest).duplicated(keep=False).to_numpy(dtype=bool)]
    candidates = np.union1d(candidates, np.flatnonzero(present & ~hashed))
    duplicated = np.zeros(len(values), dtype=bool)
    if len(candidates):
        texts = pd.Series(pd.arrays.ArrowStringArray(values.take(pa.array(candidates))))
        duplicated[candidates] = texts.duplicated(keep=False).to_numpy(dtype=bool)
    return duplicated


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
    uniques = uniques.str.replace(TIME_OF_DAY, "", regex=True)  # a date-time is the day written in it
    implausible = np.zeros(len(uniques), dtype=bool)
    impossible = np.zeros(len(uniques), dtype=bool)
    for pattern, fmt in DATE_FORMATS:
        matches = uniques.str.match(pattern).fillna(False).to_numpy(dtype=bool)
        if matches.any():
            # Parsed at second resolution first: year 9999 is a real date but beyond nanoseconds.
            parsed = pd.to_datetime(uniques[matches], format=fmt, errors="coerce").astype("datetime64[s]")
            plausible = ((parsed >= EARLIEST_DATE) & (parsed <= LATEST_DATE)).to_numpy()
            implausible[np.flatnonzero(matches)[~plausible & parsed.notna().to_numpy()]] = True
            # Written in a known format, yet no such day (30-02-2026, month 13); year 0 is only implausible.
            unparsed = np.flatnonzero(matches)[parsed.isna().to_numpy()]
            year_text = uniques.iloc[unparsed].str.extract(r"(\d{4})", expand=False)
            ascii_year = year_text.map(str.isascii).to_numpy(dtype=bool)  # other scripts' digits: not a date
            year = pd.to_numeric(year_text.where(ascii_year), errors="coerce").to_numpy(dtype="float64")
            impossible[unparsed[year >= 1]] = True
            implausible[unparsed[year < 1]] = True
            dates.iloc[np.flatnonzero(matches)[plausible]] = parsed[plausible].astype("datetime64[ns]").to_numpy()
    failures = _failures(len(uniques))
    failures[dates.isna().to_numpy()] = "not_a_date"
    failures[impossible] = "impossible_date"
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

"""Property-based tests: whatever arrives, nothing is lost and only the documented error escapes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.intake import FileError, load_contract, validate_file
from tests.conftest import HEADER, form, write_csv_text

# 150 examples a test in the normal run; the "fuzz" profile (tests/conftest.py) raises it.
SETTINGS = settings(max_examples=max(150, settings.default.max_examples), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def check_accounting(path: Path, **options) -> None:
    """Validate a file; it is either a file-level error or every form is accounted for once."""
    try:
        result = validate_file(path, **options)
    except FileError as error:
        assert str(error) and "\n" not in str(error)
        return
    refused_rows = set(result.refused["row"])
    assert result.rows_read == len(result.valid) + len(refused_rows)
    assert not refused_rows & set(result.valid.index)
    assert result.refused["reason"].str.len().gt(0).all()
    if len(result.valid):
        load_contract(training=options.get("training", False)).schema.validate(result.valid.reset_index(drop=True))


def temp_file(content: bytes, suffix: str) -> Path:
    directory = Path(tempfile.mkdtemp())
    path = directory / f"input{suffix}"
    path.write_bytes(content)
    return path


@SETTINGS
@given(content=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx", ".parquet", ""]))
def test_arbitrary_bytes(content, suffix):
    check_accounting(temp_file(content, suffix))


@SETTINGS
@given(text=st.text(max_size=2000), encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_arbitrary_text(text, encoding):
    check_accounting(temp_file(text.encode(encoding, errors="replace"), ".csv"))


cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "ja", "nej", "K", "hård", "3,5", "1e308", "-0", "nan", "inf", "NULL",
                     "120345-1234", "=SUM(A1)", "M54.5", "DM545", "31-02-2026", "2026-11-16", "16.11.2026"]),
    st.integers(-10**12, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@SETTINGS
@given(
    cells=st.lists(st.fixed_dictionaries({name: cell for name in HEADER}), min_size=1, max_size=8),
    sep=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "cp1252"]),
)
def test_arbitrary_cells_under_a_valid_header(cells, sep, encoding):
    path = temp_file(b"", ".csv")
    rows = [{key: value.encode(encoding, "replace").decode(encoding) for key, value in row.items()} for row in cells]
    write_csv_text(path, rows, sep=sep, encoding=encoding, header=HEADER)
    check_accounting(path)


def _valid_csv(n: int) -> str:
    path = temp_file(b"", ".csv")
    write_csv_text(path, [form(case_id=f"K-{i}", age=str(20 + i)) for i in range(n)], sep=";")
    return path.read_text("utf-8")


BASE = _valid_csv(5)
mutation = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(BASE) - 1), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.integers(0, len(BASE)), st.text(min_size=1, max_size=5, alphabet=';,"\n\r\x00ÆØÅ=')),
    st.tuples(st.just("duplicate_line"), st.integers(0, 6), st.just(0)),
    st.tuples(st.just("swap_lines"), st.integers(0, 6), st.integers(0, 6)),
)


def mutate(text: str, steps) -> str:
    for kind, a, b in steps:
        lines = text.split("\n")
        if kind == "delete":
            text = text[:a] + text[a + b :]
        elif kind == "insert":
            text = text[:a] + b + text[a:]
        elif kind == "duplicate_line" and a < len(lines):
            lines.insert(a, lines[a])
            text = "\n".join(lines)
        elif kind == "swap_lines" and max(a, b) < len(lines):
            lines[a], lines[b] = lines[b], lines[a]
            text = "\n".join(lines)
    return text


@SETTINGS
@given(steps=st.lists(mutation, min_size=1, max_size=6), encoding=st.sampled_from(["utf-8", "cp1252"]))
def test_mangled_csv(steps, encoding):
    check_accounting(temp_file(mutate(BASE, steps).encode(encoding, "replace"), ".csv"))


@SETTINGS
@given(column=st.sampled_from(HEADER), separator=st.sampled_from(["", "-"]), digits=st.from_regex(r"\d{10}", fullmatch=True),
       padding=st.sampled_from(["", " ", "x "]))
def test_cpr_numbers_are_never_echoed(column, separator, digits, padding):
    cpr = digits[:6] + separator + digits[6:]
    path = temp_file(b"", ".csv")
    write_csv_text(path, [form(**{column: padding + cpr}), form(case_id="other")], header=HEADER)
    result = validate_file(path)
    shown = result.refused.to_csv() + result.valid.astype("str").to_csv()
    assert digits not in shown.replace("-", "")
    assert 2 not in set(result.valid.index)  # the form carrying the number is refused


# --- the column-at-once text helpers validation relies on ---------------------------------

text_cell = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="0123456789-", max_size=14),  # CPR-shaped runs, split or not
    st.text(alphabet="AB1-:. \t\n\x07\u0661\uff11Æ", max_size=20),  # spaces, control, non-ASCII digits
    st.sampled_from(["", " ", "120345-1234", "x1203451234y", "A" * 64, "A" * 201, "K-1"]),
)


@SETTINGS
@given(cells=st.lists(text_cell, max_size=60), keep=st.lists(st.booleans(), min_size=60, max_size=60),
       start=st.integers(0, 5))
def test_duplicated_text_is_pandas_duplicated(cells, keep, start):
    import numpy as np
    import pyarrow as pa

    from screening.intake._parse import duplicated_text

    values = pa.array(["pad"] * start + cells, pa.large_string()).slice(start)  # an offset into the buffers too
    present = np.array([cell is not None and kept for cell, kept in zip(cells, keep)], dtype=bool)
    expected = np.zeros(len(cells), dtype=bool)
    expected[present] = pd.Series(cells, dtype=object)[present].duplicated(keep=False).to_numpy()
    assert (duplicated_text(values, present) == expected).all()


@SETTINGS
@given(cells=st.lists(text_cell, max_size=60), block=st.sampled_from([1, 2, 7, 64]))
def test_plain_text_passes_every_generic_check_unchanged(cells, block):
    import pyarrow as pa

    from screening.intake._parse import MAX_CELL_CHARACTERS, plain_text
    from screening.intake._privacy import CONTROL_PATTERN, CPR_SEARCH_PATTERN

    plain = plain_text(pa.array(cells, pa.large_string()), block=block)
    text = pd.Series(cells, dtype="str")
    trimmed = text.str.strip()
    for is_plain, cell, clean in zip(plain, cells, trimmed):
        if is_plain:
            assert cell == clean and 0 < len(clean) <= MAX_CELL_CHARACTERS
            assert not pd.Series([clean], dtype="str").str.contains(CONTROL_PATTERN, regex=True).iloc[0]
            assert not pd.Series([clean], dtype="str").str.contains(CPR_SEARCH_PATTERN, regex=True).iloc[0]


@SETTINGS
@given(cells=st.lists(text_cell, max_size=30))
def test_redaction_masks_what_pythons_regex_finds(cells):
    import re

    from screening.intake._privacy import CONTROL_PATTERN, CPR_PATTERN, redact

    shown = redact(pd.Series(cells, dtype="str"))
    for cell, safe in zip(cells, shown):
        if cell is None:
            assert pd.isna(safe)
            continue
        expected = re.sub(CONTROL_PATTERN, "\ufffd", re.sub(CPR_PATTERN, "******-****", cell))
        expected = expected if len(expected) <= 60 else expected[:59] + "…"
        assert safe == expected

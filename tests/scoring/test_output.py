"""The ranked CSV's cells: quoted as RFC 4180 says and formulas neutralised, whatever the text and however it is held."""

from __future__ import annotations

import io
from unittest import mock

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from screening._io import FORMULA_STARTS
from screening.scoring import _output
from screening.scoring._output import csv_dialect, neutralise, quote, write_table_lines

cell_texts = st.one_of(
    st.none(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.sampled_from(["a,b", "a;b", '"', 'say "hi"', "=1+1", "-2", "+", "@x", "\tx", "\rx", "x\r\ny", "", "ø;æ", "'=1"]),
)
columns = st.lists(cell_texts, max_size=30)


def quoted(value: str | None, separator: str) -> str:
    if value is None:
        return ""
    if any(character in value for character in separator + '"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def neutralised(value: str | None) -> str | None:
    return "'" + value if value is not None and value.startswith(FORMULA_STARTS) else value


def arrow_text(values: list[str | None], start: int, large: bool) -> pa.Array:
    """The values from ``start`` on, as a slice of a longer Arrow array (its bytes do not start at 0)."""
    return pa.array(values, pa.large_string() if large else pa.string()).slice(min(start, len(values)))


@settings(max_examples=200, deadline=None)
@given(values=columns, separator=st.sampled_from([",", ";"]), start=st.integers(0, 4), large=st.booleans(),
       block=st.sampled_from([1, 5, 1 << 18]))
def test_cells_are_quoted_when_they_must_be(values, separator, start, large, block):
    """Also when the column's bytes are searched a few at a time (a character at the edge of a block)."""
    column = arrow_text(values, start, large)
    with mock.patch.object(_output, "_SCAN_BYTES", block):
        assert quote(column, separator).to_pylist() == [quoted(value, separator) for value in values[start:]]


@settings(max_examples=200, deadline=None)
@given(values=columns, start=st.integers(0, 4), large=st.booleans())
def test_formulas_and_only_formulas_get_an_apostrophe(values, start, large):
    column = arrow_text(values, start, large)
    assert neutralise(column).to_pylist() == [neutralised(value) for value in values[start:]]


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(cell_texts, cell_texts), max_size=40), dialect=st.sampled_from(["standard", "danish_excel"]),
       chunk=st.sampled_from([1, 3, 7, 65_536]))
def test_lines_are_the_rows_in_order_whatever_the_chunk(rows, dialect, chunk):
    """Written a chunk at a time: the lines come out in order, every row once."""
    spelt = csv_dialect(dialect)
    table = pa.table({"rank": pa.array(range(1, len(rows) + 1), pa.int64()),
                      "case_id": pa.array([case_id for case_id, _ in rows], pa.string()),
                      "reasons": pa.array([reasons for _, reasons in rows], pa.string())})
    out = io.BytesIO()
    with mock.patch.object(_output, "WRITE_CHUNK", chunk):
        write_table_lines(table, out, dialect=spelt)
    expected = "".join(
        spelt.separator.join([str(rank), quoted(neutralised(case_id), spelt.separator),
                              quoted(neutralised(reasons), spelt.separator)]) + spelt.line_end
        for rank, (case_id, reasons) in enumerate(rows, start=1))
    assert out.getvalue() == expected.encode("utf-8")


few_texts = st.sampled_from(["Aarhus", "Ærø", "a,b", 'say "hi"', "=SUM(A1)", "", None])
ranked_rows = st.lists(st.tuples(
    cell_texts, few_texts, st.sampled_from(["early", "late"]), st.sampled_from([8, 13, 22, 52, None]),
    st.one_of(st.none(), st.integers(0, 10_000)), st.integers(0, 10_000), st.sampled_from(["high", "low", None]),
    st.sampled_from([True, False, None]), cell_texts), max_size=40)


@settings(max_examples=80, deadline=None)
@given(rows=ranked_rows, dialect=st.sampled_from(["standard", "danish_excel"]), chunk=st.sampled_from([1, 3, 65_536]),
       thresholds=st.sampled_from([(4096, 256), (2, 1), (1, 0)]))
def test_columns_of_few_values_are_written_as_cell_by_cell(rows, dialect, chunk, thresholds):
    """Risks, words, jobcenters and the model version are written from their distinct values' cells (when a chunk
    has few): the same bytes as each row's cell written on its own, with quotes, apostrophes and empty cells."""
    spelt = csv_dialect(dialect)
    words = _output.value_words("da") if spelt.for_people else {"contact_this_week": {True: "yes", False: "no"}}
    table = pa.table({
        "rank": pa.array(range(1, len(rows) + 1), pa.int64()),
        "case_id": pa.array([row[0] for row in rows], pa.string()),
        "jobcenter": pa.array([row[1] for row in rows], pa.string()),
        "queue": pa.array([row[2] for row in rows], pa.string()),
        "horizon": pa.array([row[3] for row in rows], pa.int64()),
        "risk": pa.array([np.nan if row[4] is None else row[4] / 10_000 for row in rows], pa.float64()),
        "risk_22": pa.array([row[5] / 10_000 for row in rows], pa.float64()),
        "priority": pa.array([row[6] for row in rows], pa.string()),
        "contact_this_week": pa.array([row[7] for row in rows], pa.bool_()),
        "reasons": pa.array([row[8] for row in rows], pa.string()),
        "model_version": pa.array(["v=1"] * len(rows), pa.string()),
    })

    def risk(units: int | None) -> str:
        return "" if units is None else f"{units // 10_000}{spelt.decimal}{units % 10_000:04d}"

    def word(column: str, value: object) -> str | None:
        return None if value is None else words.get(column, {}).get(value, value)

    def text(value: str | None) -> str:
        return quoted(neutralised(value), spelt.separator)

    expected = "".join(spelt.separator.join([
        str(rank), text(case_id), text(jobcenter), neutralised(word("queue", queue)),
        "" if horizon is None else str(horizon), risk(risk_13), risk(risk_22), text(word("priority", priority)),
        word("contact_this_week", contact) or "", text(reasons), text("v=1")]) + spelt.line_end
        for rank, (case_id, jobcenter, queue, horizon, risk_13, risk_22, priority, contact, reasons)
        in enumerate(rows, start=1))
    out = io.BytesIO()
    with mock.patch.object(_output, "WRITE_CHUNK", chunk), mock.patch.object(_output, "_FEW_TEXTS", thresholds[0]), \
            mock.patch.object(_output, "_FEW_FIRST", thresholds[1]):
        write_table_lines(table, out, dialect=spelt)
    assert out.getvalue() == expected.encode("utf-8")

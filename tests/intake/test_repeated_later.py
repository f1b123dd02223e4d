"""A chunk validated before the file's repeated ids are known, completed with them, is the chunk validated with
them: the same valid forms and the same refused lines, byte for byte (``refuse_repeated``).

The batch scores a big file's chunks while its first pass is still reading the file; the
ids the pass finds repeated are told afterwards, so this equality is what keeps the output
the same as scoring after the pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import screening.intake._read as read_module
from screening.intake import (
    ChunkedTable,
    FileError,
    RepeatedIds,
    first_pass,
    first_pass_forked,
    kept_chunk,
    refuse_repeated,
    validate_table,
)
from screening.synthetic import simulate_cohort, write_forms
from tests.conftest import form, write_csv_text
from tests.intake.test_hostile import CASES

NOT_KNOWN_YET = RepeatedIds.of([])

#: Ids as a file may spell them: repeats with blanks around, CPR-shaped, blank, overlong, formula-like.
ID_SPELLINGS = ["K-1", " K-1 ", "K-2", "k-2", "0101901234", "", "=K-3", "K-4" + "x" * 40, "K-5", "K-5\t"]


def _completed_per_chunk(path: Path, chunk_rows: int, folder: Path, *, language: str = "da") -> int:
    """Check every chunk of a file: completed later == validated with the file's repeated ids. Chunks checked."""
    table = ChunkedTable(path, chunk_rows=chunk_rows)
    first = first_pass(table, keep_in=folder)
    if first.kept is None:  # one chunk: validated whole, nothing to complete
        return 0
    assert len(first.repeated_rows) == len(first.kept)
    for path_of_chunk, rows in zip(first.kept, first.repeated_rows):
        chunk = kept_chunk(path_of_chunk, dialect=table.dialect)
        expected = validate_table(chunk, language=language, duplicate_case_ids=first.duplicates)
        before = validate_table(chunk, language=language, duplicate_case_ids=NOT_KNOWN_YET)
        completed, dropped = refuse_repeated(before, chunk, rows, language=language)
        pd.testing.assert_frame_equal(completed.valid, expected.valid, check_exact=True)
        pd.testing.assert_frame_equal(completed.refused, expected.refused, check_exact=True)
        assert completed.refused_rows == expected.refused_rows
        assert completed.refused_by_reason() == expected.refused_by_reason()
        assert (completed.rows_read, completed.blank_rows, completed.notes) == (
            expected.rows_read, expected.blank_rows, expected.notes)
        np.testing.assert_array_equal(before.valid.index[~dropped], expected.valid.index)
    return len(first.kept)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.sampled_from(ID_SPELLINGS), min_size=2, max_size=40), chunk_rows=st.integers(1, 9),
       faults=st.lists(st.sampled_from(["age", "sick_weeks", "physical_load", "case_id"]), max_size=40),
       language=st.sampled_from(["da", "en"]))
def test_a_chunk_completed_later_is_the_chunk_validated_with_the_files_repeated_ids(ids, chunk_rows, faults,
                                                                                     language, tmp_path_factory):
    """Ids repeated within and across chunks, spelt with blanks, CPR-shaped or blank, on forms with other faults."""
    folder = tmp_path_factory.mktemp("later")
    bad = {"age": "200", "sick_weeks": "x", "physical_load": "9", "case_id": "0101901234"}
    rows = []
    for number, case_id in enumerate(ids):
        fault = faults[number] if number < len(faults) else None
        values = {"case_id": case_id, "age": 30 + number % 30}
        if fault is not None:
            values[fault] = bad[fault]
        rows.append(form(**values))
    path = write_csv_text(folder / "week.csv", rows)
    _completed_per_chunk(path, chunk_rows, folder, language=language)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_hostile_file_completed_later_is_validated_as_with_its_repeated_ids(case, tmp_path):
    path = case.build(tmp_path)
    folder = tmp_path / "kept"
    folder.mkdir()
    try:
        _completed_per_chunk(path, 2, folder)
    except FileError:  # the file refused as a whole: there is no chunk to complete
        pass


def test_simulated_weeks_of_both_families_completed_later_are_validated_as_with_their_repeated_ids(tmp_path):
    checked = 0
    for seed, family in ((1, "aft"), (2, "frailty")):
        forms = simulate_cohort(400, seed=seed, messy=True, family=family).forms
        forms.loc[390, "case_id"] = forms.loc[3, "case_id"]  # chunks apart
        forms.loc[11, "case_id"] = forms.loc[10, "case_id"]  # next to each other
        path = tmp_path / f"week{seed}.csv"
        write_forms(forms, path)
        folder = tmp_path / f"kept{seed}"
        folder.mkdir()
        checked += _completed_per_chunk(path, 64, folder)
    assert checked == 14


def test_no_repeated_rows_changes_nothing(tmp_path):
    path = write_csv_text(tmp_path / "week.csv", [form(case_id=f"K-{number}") for number in range(5)])
    chunk = ChunkedTable(path, chunk_rows=None).map_chunks(lambda number, chunk: chunk)[0]
    before = validate_table(chunk, duplicate_case_ids=NOT_KNOWN_YET)
    completed, dropped = refuse_repeated(before, chunk, np.zeros(0, dtype=np.int64))
    assert completed is before and not dropped.any()


def test_the_first_pass_tells_each_chunk_as_it_is_kept_and_the_rows_whose_ids_repeat(tmp_path):
    rows = [form(case_id=f"K-{number}") for number in range(10)]
    rows[8]["case_id"] = "K-1"  # chunk 2 repeats chunk 0's id
    path = write_csv_text(tmp_path / "week.csv", rows)
    told: list[tuple[int, Path]] = []
    first = first_pass(ChunkedTable(path, chunk_rows=4), keep_in=tmp_path,
                       on_kept=lambda number, kept: told.append((number, kept)))
    assert told == list(enumerate(first.kept))
    assert [rows.tolist() for rows in first.repeated_rows] == [[3], [], [10]]  # row numbers: the header is row 1


def test_a_pass_that_begins_again_tells_new_chunks_under_new_names(tmp_path, monkeypatch):
    """Arrow meets an unclosed quote after two chunks were kept: the line-aware reader reads the file again from the
    start, and the chunks it keeps never take the void ones' names (a worker may still be reading those)."""
    monkeypatch.setattr(read_module, "ARROW_BLOCK_BYTES", 1024)  # Arrow reads a few forms at a time
    path = _restarting_file(tmp_path)
    told: list[tuple[int, Path]] = []
    table = ChunkedTable(path, chunk_rows=10)
    first = first_pass(table, keep_in=tmp_path, on_kept=lambda number, kept: told.append((number, kept)))
    numbers = [number for number, _ in told]
    again = numbers.index(0, 1)
    assert again >= 2 and numbers[again:] == list(range(len(first.kept)))
    assert {kept for _, kept in told[:again]}.isdisjoint(first.kept)
    assert table.reader == "python"


def test_a_forked_pass_tells_its_chunks_as_kept_and_then_its_outcome(tmp_path, monkeypatch):
    monkeypatch.setattr(read_module, "ARROW_BLOCK_BYTES", 1024)
    path = _restarting_file(tmp_path)
    (tmp_path / "here").mkdir()
    here = first_pass(ChunkedTable(path, chunk_rows=10), keep_in=tmp_path / "here")
    folder = tmp_path / "there"
    folder.mkdir()
    with first_pass_forked(ChunkedTable(path, chunk_rows=10), keep_in=folder) as passing:
        told = list(passing.kept())
        first = passing()
        assert passing() is first  # asked again: the same outcome
    numbers = [number for number, _ in told]
    assert numbers[numbers.index(0, 1):] == list(range(len(first.kept)))
    assert [rows.tolist() for rows in first.repeated_rows] == [rows.tolist() for rows in here.repeated_rows]
    assert first.duplicates.repeated.tolist() == here.duplicates.repeated.tolist()


def _restarting_file(tmp_path: Path) -> Path:
    """60 forms, an id repeated across chunks, and an unclosed quote near the end (read line by line from there)."""
    rows = [form(case_id=f"K-{number}") for number in range(60)]
    rows[55]["case_id"] = "K-2"
    path = write_csv_text(tmp_path / "restarting.csv", rows)
    lines = path.read_text("utf-8").split("\n")
    lines[50] += ',"unclosed'
    path.write_text("\n".join(lines), "utf-8")
    return path

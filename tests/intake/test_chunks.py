"""A file read in chunks is the file read whole: same cells, row numbers, malformed records and dialect."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import screening.intake._decode as decode_module
from screening.intake import FileError, read_table
from screening.intake import ChunkedTable
from screening.synthetic import simulate_cohort, write_forms
from tests.conftest import HEADER, form, write_csv_text
from tests.intake.test_hostile import CASES

SETTINGS = settings(max_examples=max(150, settings.default.max_examples), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_whole(path: Path, **options):
    try:
        return read_table(path, **options)
    except FileError as error:
        return f"error: {error}"


def read_in_chunks(path: Path, chunk_rows: int, **options):
    try:
        table = ChunkedTable(path, chunk_rows=chunk_rows, **options)
        parts = table.map_chunks(lambda number, chunk: chunk)
    except FileError as error:
        return f"error: {error}"
    assert all(len(part.frame) + len(part.malformed) <= chunk_rows for part in parts)
    return parts, table


def assert_same_table(path: Path, chunk_rows: int, **options) -> None:
    whole = read_whole(path, **options)
    chunked = read_in_chunks(path, chunk_rows, **options)
    if isinstance(whole, str) or isinstance(chunked, str):
        assert isinstance(whole, str) and isinstance(chunked, str), (whole, chunked)
        if "Parquet" not in whole:  # Arrow words a broken Parquet footer differently per call
            assert whole == chunked
        return
    parts, table = chunked
    frame = pd.concat([part.frame for part in parts], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole.frame, check_exact=True)
    np.testing.assert_array_equal(np.concatenate([part.row_numbers for part in parts]), whole.row_numbers)
    assert [record for part in parts for record in part.malformed] == whole.malformed
    assert table.dialect == whole.dialect
    assert list(table.header) == [str(name) for name in whole.frame.columns]
    if table.sha256 is not None:
        assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_every_hostile_file_reads_the_same_in_chunks(case, chunk_rows, tmp_path):
    assert_same_table(case.build(tmp_path), chunk_rows)


@pytest.mark.parametrize("suffix,dialect", [(".csv", "standard"), (".csv", "danish_excel"), (".xlsx", "standard"),
                                            (".parquet", "standard")])
def test_simulated_forms_read_the_same_in_chunks(suffix, dialect, tmp_path):
    forms = simulate_cohort(700, seed=3, messy=True, invalid_share=0.05).forms
    path = tmp_path / f"forms{suffix}"
    write_forms(forms, path, dialect=dialect)
    for chunk_rows in (1, 64, 699, 700, 5000):
        assert_same_table(path, chunk_rows)


def test_a_character_cut_by_a_block_boundary_decodes_whole(tmp_path, monkeypatch):
    # Tiny blocks put block boundaries inside UTF-8 and Windows-1252 letters alike.
    monkeypatch.setattr(decode_module, "READ_BYTES", 7)
    rows = [form(case_id=f"K-{i}", jobcenter="Høje-Taastrup Æblegård") for i in range(40)]
    utf8, mixed = tmp_path / "utf8.csv", tmp_path / "mixed.csv"
    write_csv_text(utf8, rows, sep=";", encoding="utf-8")
    lines = utf8.read_bytes().split(b"\n")
    lines[20] = lines[20].decode("utf-8").encode("cp1252")  # one line saved by another program
    mixed.write_bytes(b"\n".join(lines))
    for path in (utf8, mixed):
        assert_same_table(path, 3)
    assert read_in_chunks(mixed, 3)[1].dialect["encoding"] == "cp1252"


def test_a_malformed_record_switches_the_whole_file_to_the_line_aware_reader(tmp_path):
    path = tmp_path / "forms.csv"
    write_csv_text(path, [form(case_id=f"K-{i}") for i in range(30)], sep=",")
    lines = path.read_text("utf-8").split("\n")
    lines[25] += ',"unclosed'
    path.write_text("\n".join(lines), "utf-8")
    parts, table = read_in_chunks(path, 4)
    assert table.reader == "python"
    assert [record[0] for part in parts for record in part.malformed] == [26]
    assert_same_table(path, 4)


@pytest.mark.parametrize("cell", ["x" * 300_000, "a\nb," + "x" * 300_000], ids=["one line", "over lines"])
def test_the_line_aware_reader_reads_a_long_cell_as_it_is(tmp_path, cell):
    # Python's csv module refuses fields over 128 KB unless told otherwise: the cell is the validator's to refuse.
    path = tmp_path / "forms.csv"
    write_csv_text(path, [form(case_id=f"K-{i}", treatment=cell if i == 5 else "none") for i in range(10)], sep=",")
    lines = path.read_text("utf-8").split("\n")
    lines[-2] += ',"unclosed'  # a stray quote in the last form: the whole file goes to the line-aware reader
    path.write_text("\n".join(lines), "utf-8")
    parts, table = read_in_chunks(path, 4)
    assert table.reader == "python"
    forms = pd.concat([part.frame for part in parts], ignore_index=True)
    assert forms.loc[forms["case_id"] == "K-5", "treatment"].tolist() == [cell]
    assert [record[0] for part in parts for record in part.malformed] == [11]


def test_a_file_changed_between_passes_is_refused(tmp_path):
    path = tmp_path / "forms.csv"
    write_csv_text(path, [form(case_id=f"K-{i}") for i in range(10)], sep=",")
    table = ChunkedTable(path, chunk_rows=3)
    table.map_chunks(lambda number, chunk: chunk.rows_read)
    path.write_text(path.read_text("utf-8") + 'K-99,"unclosed\n', "utf-8")
    with pytest.raises(FileError, match="changed while it was being read"):
        list(table)


def temp_file(content: bytes, suffix: str) -> Path:
    path = Path(tempfile.mkdtemp()) / f"input{suffix}"
    path.write_bytes(content)
    return path


@SETTINGS
@given(content=st.binary(max_size=1500), chunk_rows=st.integers(1, 5), suffix=st.sampled_from([".csv", ""]))
def test_arbitrary_bytes_read_the_same_in_chunks(content, chunk_rows, suffix):
    assert_same_table(temp_file(content, suffix), chunk_rows)


@SETTINGS
@given(
    text=st.lists(st.text(alphabet=st.sampled_from(list('ab,;"\n\r æø\t')), max_size=40), max_size=12),
    encoding=st.sampled_from(["utf-8", "cp1252", "utf-16"]),
    chunk_rows=st.integers(1, 4),
)
def test_arbitrary_csv_text_reads_the_same_in_chunks(text, encoding, chunk_rows):
    content = (",".join(HEADER) + "\n" + "\n".join(text)).encode(encoding)
    assert_same_table(temp_file(content, ".csv"), chunk_rows)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_an_empty_line_is_a_row_of_the_spreadsheet_and_numbers_the_rows_after_it(tmp_path, newline):
    path = tmp_path / "forms.csv"
    write_csv_text(path, [form(case_id=f"K-{i}") for i in range(4)], sep=",", newline=newline)
    lines = path.read_bytes().decode("utf-8").split(newline)
    lines.insert(3, "")  # after the header and two forms: the third form moves to spreadsheet row 5
    path.write_bytes(newline.join(lines).encode("utf-8"))
    whole = read_table(path)
    assert whole.row_numbers.tolist() == [2, 3, 5, 6]
    for chunk_rows in (1, 3, 100):
        assert_same_table(path, chunk_rows)


def test_empty_lines_at_the_end_change_nothing(tmp_path):
    path = tmp_path / "forms.csv"
    write_csv_text(path, [form(case_id=f"K-{i}") for i in range(3)], sep=",")
    path.write_bytes(path.read_bytes() + b"\n\n\n")
    assert read_table(path).row_numbers.tolist() == [2, 3, 4]
    assert read_in_chunks(path, 2)[1].reader == "arrow"


def test_validate_in_chunks_says_and_writes_what_validating_whole_does(tmp_path, capsys):
    from screening.cli import main

    forms = simulate_cohort(300, seed=9, messy=True, invalid_share=0.05).forms
    forms.loc[250, "case_id"] = forms.loc[3, "case_id"]  # repeated chunks apart
    path = tmp_path / "week.csv"
    write_forms(forms, path, dialect="danish_excel")
    said = {}
    for chunk_rows in ("1000", "7"):
        rejects = tmp_path / f"refused-{chunk_rows}.csv"
        assert main(["validate", "--input", str(path), "--rejects", str(rejects), "--chunk-rows", chunk_rows]) == 0
        printed = capsys.readouterr().out
        said[chunk_rows] = ([line for line in printed.splitlines() if not line.startswith(("tid:", "afviste rækker"))],
                            rejects.read_bytes())
    assert said["7"] == said["1000"]
    assert any("duplicate_case_id" in line for line in said["7"][0])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_every_hostile_file_kept_by_the_first_pass_reads_back_as_read(case, tmp_path):
    """The second pass of a file of several chunks reads the chunks the first pass kept, not the file."""
    from screening.intake import first_pass, kept_chunk

    path = case.build(tmp_path)
    whole = read_whole(path)
    folder = tmp_path / "kept"
    folder.mkdir()
    try:
        table = ChunkedTable(path, chunk_rows=2)
        first = first_pass(table, keep_in=folder)
    except FileError:  # the file, or its header, refused as a whole: nothing to read back
        return
    if first.kept is None:  # one chunk: kept in memory, nothing left on disk
        assert first.chunk is not None and list(folder.iterdir()) == []
        return
    parts = [kept_chunk(kept, dialect=table.dialect) for kept in first.kept]
    assert list(folder.iterdir()) == []  # each removed once read
    pd.testing.assert_frame_equal(pd.concat([part.frame for part in parts], ignore_index=True), whole.frame,
                                  check_exact=True)
    np.testing.assert_array_equal(np.concatenate([part.row_numbers for part in parts]), whole.row_numbers)
    assert [record for part in parts for record in part.malformed] == whole.malformed
    assert all(part.dialect == whole.dialect for part in parts)


def _pass_outcome(path: Path, folder: Path, *, forked: bool):
    """A file's first pass in chunks of 2, as the batch sees it: the forms, refused ids, settled table, or the error."""
    from screening.intake import first_pass, first_pass_forked, kept_chunk

    try:
        table = ChunkedTable(path, chunk_rows=2)
        if forked:
            times: dict[str, float] = {}
            with first_pass_forked(table, keep_in=folder, times=times) as done:
                first = done()
            assert set(times) <= {"read", "ids"}
        else:
            first = first_pass(table, keep_in=folder)
    except FileError as error:
        return ("error", error.kind, error.params)
    parts = [first.chunk] if first.chunk is not None else [kept_chunk(kept, dialect=table.dialect) for kept in first.kept]
    frame = pd.concat([part.frame for part in parts], ignore_index=True)
    repeated = None if first.duplicates is None else first.duplicates.repeated.tolist()
    return (frame, np.concatenate([part.row_numbers for part in parts]).tolist(),
            [record for part in parts for record in part.malformed], repeated,
            table.dialect, table.reader, table.sha256, first.sha256)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_first_pass_in_a_process_of_its_own_finds_what_it_finds_here(case, tmp_path):
    """The batch runs the first pass in a forked process beside the model's load: same chunks, same repeated ids,
    the table settled the same (dialect, reader, checksum), the same error for a bad file."""
    path = case.build(tmp_path)
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    expected = _pass_outcome(path, here, forked=False)
    found = _pass_outcome(path, there, forked=True)
    if isinstance(expected[0], str):
        assert found == expected
        return
    pd.testing.assert_frame_equal(found[0], expected[0], check_exact=True)
    assert found[1:] == expected[1:]


def test_a_first_pass_with_repeated_ids_and_a_late_encoding_settles_the_table_here(tmp_path):
    forms = simulate_cohort(60, seed=3, messy=True).forms
    forms.loc[50, "case_id"] = forms.loc[2, "case_id"]
    path = tmp_path / "week.csv"
    write_forms(forms, path)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[40] = lines[40].decode("utf-8").replace("a", "æ", 1).encode("cp1252")  # one line saved by another program
    path.write_bytes(b"".join(lines))
    folder = tmp_path / "kept"
    folder.mkdir()
    found = _pass_outcome(path, folder, forked=True)
    assert found[3] and len(found[3]) == 1  # the id repeated chunks apart
    assert found[4]["encoding"] == "cp1252" and found[6] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_first_pass_process_that_dies_is_one_clear_error_and_one_left_early_is_ended(tmp_path, monkeypatch):
    import os
    import time

    import screening.intake._passes as passes
    from screening.intake import first_pass_forked

    path = tmp_path / "week.csv"
    write_forms(simulate_cohort(20, seed=1).forms, path)
    monkeypatch.setattr(passes, "first_pass", lambda *args, **kwargs: os._exit(9))  # as the kernel's OOM killer
    with pytest.raises(FileError) as error:
        with first_pass_forked(ChunkedTable(path, chunk_rows=5), keep_in=tmp_path) as done:
            done()
    assert error.value.kind == "first_pass_died" and "--workers 1" in error.value.text("da")
    monkeypatch.setattr(passes, "first_pass", lambda *args, **kwargs: time.sleep(60))
    clock = time.perf_counter()
    with pytest.raises(RuntimeError, match="the model"):
        with first_pass_forked(ChunkedTable(path, chunk_rows=5), keep_in=tmp_path):
            raise RuntimeError("the model could not be loaded")
    assert time.perf_counter() - clock < 10


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="\n\r a,", max_size=60), block=st.integers(1, 9))
def test_an_empty_line_before_content_is_noticed_wherever_the_blocks_cut(tmp_path_factory, text, block):
    """The reader notes an empty line followed by content (Arrow would skip it) as the whole file would show it,
    with block boundaries anywhere (inside ``\\r\\n``, between two line ends, in trailing blank space)."""
    from screening.intake._decode import blank_line_before_content, open_decoded

    data = ("header\n" + text).encode("ascii")
    path = tmp_path_factory.mktemp("blank") / "forms.csv"
    path.write_bytes(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decode_module, "READ_BYTES", block)
        with open_decoded(path, "auto") as stream:
            assert stream.read() == data
            assert stream.raw.blank_line == blank_line_before_content(data)

"""Reading what jobcenters export: every dialect and format gives the same forms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screening.intake import FileError, read_table, validate_file
from tests.conftest import form, write_csv_text

ROWS = [
    form(case_id="A-1", jobcenter="Århus Syd", weekly_hours="37.5", sick_weeks="3.5",
         sick_leave_start="2026-10-20", form_received="2026-11-13", physical_load="hård"),
    form(case_id="B-2", jobcenter="Næstved", sex="K", diagnosis_code="DF432", sick_weeks="6",
         sick_leave_start="2026-10-05", form_received="2026-11-16", work_ability=None),
    form(case_id="C-3", jobcenter="Tønder", sex="M", diagnosis_code=None, diagnosis_group="injury",
         weekly_hours=None, sick_weeks="2", sick_leave_start=None, form_received=None, employer_contact=None),
]


def danish(rows):
    """Danish Excel spells decimals with a comma and dates day first."""
    out = []
    for row in rows:
        row = dict(row)
        for name in ("weekly_hours", "sick_weeks"):
            row[name] = row[name].replace(".", ",")
        for name in ("sick_leave_start", "form_received"):
            if row[name]:
                row[name] = dt.date.fromisoformat(row[name]).strftime("%d-%m-%Y")
        out.append(row)
    return out


def write_parquet(path: Path, rows) -> Path:
    frame = pd.DataFrame(rows).replace("", None)
    typed = pd.DataFrame({
        **{name: frame[name] for name in frame.columns},
        "age": frame["age"].astype("int64"),
        "sick_weeks": frame["sick_weeks"].astype("float64"),
        "weekly_hours": frame["weekly_hours"].astype("float64"),
        "prior_sick_weeks_12m": frame["prior_sick_weeks_12m"].astype("float64"),
        "form_received": pd.to_datetime(frame["form_received"]),
        "employer_contact": frame["employer_contact"].map({"ja": True, "nej": False}).astype("boolean"),
    })
    pq.write_table(pa.Table.from_pandas(typed, preserve_index=False), path)
    return path


def write_xlsx(path: Path, rows) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    header = list(rows[0])
    sheet.append(header)
    for row in rows:
        cells = []
        for name in header:
            value = row[name]
            if value and name in ("age", "prior_sick_weeks_12m", "work_ability"):
                value = int(value)
            elif value and name in ("sick_weeks", "weekly_hours"):
                value = float(value)
            elif value and name in ("form_received", "sick_leave_start"):
                value = dt.datetime.fromisoformat(value)
            cells.append(None if value in ("", None) else value)
        sheet.append(cells)
    book.create_sheet("Other").append(["not", "this"])
    book.save(path)
    return path


WRITERS = {
    "utf8_comma_lf": lambda p: write_csv_text(p.with_suffix(".csv"), ROWS),
    "utf8_bom_semicolon_crlf": lambda p: write_csv_text(p.with_suffix(".csv"), danish(ROWS), sep=";", encoding="utf-8-sig", newline="\r\n"),
    "cp1252_danish_excel": lambda p: write_csv_text(p.with_suffix(".csv"), danish(ROWS), sep=";", encoding="cp1252", newline="\r\n"),
    "cp1252_comma": lambda p: write_csv_text(p.with_suffix(".csv"), ROWS, encoding="cp1252"),
    "tab_separated": lambda p: write_csv_text(p.with_suffix(".txt"), ROWS, sep="\t"),
    "xlsx": lambda p: write_xlsx(p.with_suffix(".xlsx"), ROWS),
    "parquet": lambda p: write_parquet(p.with_suffix(".parquet"), ROWS),
}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return validate_file(WRITERS["utf8_comma_lf"](tmp_path_factory.mktemp("ref") / "forms")).valid


@pytest.mark.parametrize("dialect", list(WRITERS))
def test_every_dialect_gives_the_same_forms(tmp_path, reference, dialect):
    result = validate_file(WRITERS[dialect](tmp_path / "forms"))
    assert result.refused.empty, result.refused
    pd.testing.assert_frame_equal(result.valid, reference)
    assert result.valid.loc[2, "jobcenter"] == "Århus Syd"  # Danish letters survive every encoding


def test_the_dialect_is_detected_and_reported(tmp_path):
    result = validate_file(WRITERS["cp1252_danish_excel"](tmp_path / "forms"))
    assert result.dialect == {"format": "csv", "encoding": "cp1252", "separator": ";"}


def test_format_is_detected_from_content_not_name(tmp_path):
    parquet = write_parquet(tmp_path / "forms.parquet", ROWS)
    disguised = parquet.rename(tmp_path / "forms.csv")
    assert read_table(disguised).dialect["format"] == "parquet"


def test_a_file_mixing_utf8_and_windows_1252_keeps_every_letter(tmp_path):
    good = write_csv_text(tmp_path / "a.csv", ROWS[:2]).read_bytes()
    extra = ("\n".join([",".join(form(case_id="D-4", jobcenter="Køge").values())]) + "\n").encode("cp1252")
    path = tmp_path / "mixed.csv"
    path.write_bytes(good + extra)
    result = validate_file(path)
    assert result.valid["jobcenter"].tolist() == ["Århus Syd", "Næstved", "Køge"]


def test_rows_with_too_many_or_too_few_fields_are_refused_with_their_row(tmp_path):
    text = write_csv_text(tmp_path / "a.csv", ROWS).read_text("utf-8").splitlines()
    text.insert(2, "X-9,too,few")
    text.append(text[1] + ",extra,fields")
    path = tmp_path / "broken.csv"
    path.write_text("\n".join(text) + "\n", "utf-8")
    result = validate_file(path, language="en")
    malformed = result.refused[result.refused["kind"] == "malformed_row"]
    assert malformed["row"].tolist() == [3, 6]
    assert "3 fields but the header has 18" in malformed["reason"].iloc[0]
    assert result.valid.index.tolist() == [2, 4, 5]
    assert result.rows_read == len(result.valid) + result.refused_rows == 5


def test_quoted_values_with_separators_and_newlines(tmp_path):
    rows = [form(case_id="Q-1", jobcenter='Vejle; "Nord"\nteam 2')]
    result = validate_file(write_csv_text(tmp_path / "q.csv", rows, sep=";"))
    assert result.valid["jobcenter"].iloc[0] == 'Vejle; "Nord"\nteam 2'


def test_header_only_file_has_no_forms(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(",".join(ROWS[0]) + "\n")
    result = validate_file(path)
    assert result.rows_read == 0 and result.valid.empty and result.refused.empty


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\xef\xbb\xbf \r\n", "empty"), (b"\x00\x01\x02binary" * 50, "binary"),
     (b"PAR1garbage", "Parquet"), (b"PK\x03\x04garbage", ".xlsx"),
     (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel workbook .*save it as .xlsx or CSV"),
     (b"just one line of prose\nand another\n", "required column missing")],
)
def test_file_level_problems_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(FileError, match=message):
        validate_file(path)


def test_a_workbook_named_xls_is_read_as_the_xlsx_it_is(tmp_path):
    """A user renamed a workbook .xls; the reader chose the old .xls format by the name and said
    "Cfb error: Invalid OLE (signature ...)". The bytes decide, as for every format."""
    right = read_table(write_xlsx(tmp_path / "forms.xlsx", ROWS))
    renamed = tmp_path / "forms.xls"
    renamed.write_bytes((tmp_path / "forms.xlsx").read_bytes())
    wrong = read_table(renamed)
    pd.testing.assert_frame_equal(wrong.frame, right.frame)


@pytest.mark.parametrize("name", ["week.xlsx", "week.parquet"])
def test_a_csv_under_a_spreadsheets_name_is_read_as_the_csv_it_is(tmp_path, name):
    """A user's report: a CSV saved as week.xlsx was refused as "ikke en læsbar .xlsx-projektmappe", though the
    README says the bytes decide the format, not the name (as they do for a workbook named .csv)."""
    csv = write_csv_text(tmp_path / "week.csv", ROWS)
    renamed = tmp_path / name
    renamed.write_bytes(csv.read_bytes())
    read = read_table(renamed)
    assert read.dialect["format"] == "csv"
    pd.testing.assert_frame_equal(read.frame, read_table(csv).frame)
    renamed.write_bytes(b"\xd0\xcf\x11\xe0" + bytes(600))  # not text (a protected workbook): that reader says why
    with pytest.raises(FileError, match="Parquet" if name.endswith("parquet") else "Excel|xlsx"):
        read_table(renamed)


def test_a_workbooks_other_sheets_are_named_as_not_read(tmp_path):
    """A user's report: a workbook's second sheet of 50 forms was passed over without a word (only the first
    sheet is read, as documented). The summary names the sheets not read."""
    from openpyxl import load_workbook

    from screening.cli import format_validation_summary

    path = write_xlsx(tmp_path / "forms.xlsx", ROWS)  # its second sheet: "Other"
    book = load_workbook(path)
    book.active.title = "Uge 47"
    book.create_sheet("Uge 47 (2)").append(["case_id"])
    book.save(path)
    read = read_table(path)
    assert read.dialect == {"format": "xlsx", "sheet": "Uge 47", "other_sheets": "Other, Uge 47 (2)"}
    summary = format_validation_summary(validate_file(path), elapsed=0.1)
    assert "ark 'Uge 47', andre ark, ikke læst: 'Other, Uge 47 (2)'" in summary.splitlines()[0]
    del book["Other"], book["Uge 47 (2)"]
    book.save(path)
    assert read_table(path).dialect == {"format": "xlsx", "sheet": "Uge 47"}


def test_missing_file_and_folder_are_file_errors(tmp_path):
    with pytest.raises(FileError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(FileError, match="folder"):
        read_table(tmp_path)


def test_truncated_parquet_is_a_file_error(tmp_path):
    path = write_parquet(tmp_path / "forms.parquet", ROWS)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FileError, match="Parquet"):
        read_table(path)


def test_row_numbers_match_the_spreadsheet(tmp_path):
    path = write_xlsx(tmp_path / "forms.xlsx", ROWS)
    raw = read_table(path)
    np.testing.assert_array_equal(raw.row_numbers, [2, 3, 4])

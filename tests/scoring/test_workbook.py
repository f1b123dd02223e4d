"""The ranked list for people: the Excel workbook (``--output NAME.xlsx``) and the Danish-Excel CSV (``--dialect``).

Every file is read back with readers we did not write: openpyxl (cells, their types and
formats, the sheet's settings), pandas with calamine (values, as Excel unescapes them),
pandas' CSV reader, and LibreOffice where it is installed (does a formula run?).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.synthetic import simulate_cohort, write_forms

#: Hostile text a spreadsheet would run: as a jobcenter (valid, so in the ranked list), as a value the validator
#: refuses (in the refused rows) and as a case id (a valid one starting with "-", and a refused formula).
FORMULA_JOBCENTER = '=HYPERLINK("http://example.invalid","klik")'
FORMULA_AGE = "=1+1"
FORMULA_CASE_ID = "=2+3"
MINUS_CASE_ID = "-2"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    from screening import cli

    code = cli.main(["score", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def hostile_week(path: Path, *, rows: int, seed: int) -> Path:
    """A simulated week (3 % defects) with formulas in a jobcenter, an age and a case id, and a case id ``-2``."""
    forms = simulate_cohort(rows, seed=seed, invalid_share=0.03).forms.copy()
    forms.loc[0, "jobcenter"] = FORMULA_JOBCENTER
    forms.loc[1, "age"] = FORMULA_AGE
    forms.loc[2, "case_id"] = FORMULA_CASE_ID
    forms.loc[3, "case_id"] = MINUS_CASE_ID
    write_forms(forms, path)
    return path


@pytest.fixture(scope="module")
def week_file(tmp_path_factory) -> Path:
    return hostile_week(tmp_path_factory.mktemp("input") / "week.csv", rows=700, seed=21)


@pytest.fixture(scope="module")
def scored(model_dir, week_file, tmp_path_factory) -> dict[str, Path]:
    """The same week as a workbook, a standard CSV and a Danish-Excel CSV (capacity 5 per jobcenter)."""
    from screening.scoring import score_file

    out = tmp_path_factory.mktemp("out")
    common = {"model": model_dir, "capacity": 5, "per": "jobcenter", "audit_log": out / "audit.jsonl"}
    score_file(week_file, output=out / "week.xlsx", **common)
    score_file(week_file, output=out / "standard.csv", **common)
    score_file(week_file, output=out / "danish.csv", dialect="danish_excel", **common)
    return {"workbook": out / "week.xlsx", "csv": out / "standard.csv", "refused": out / "standard_refused.csv",
            "danish": out / "danish.csv", "danish_refused": out / "danish_refused.csv",
            "workbook_refused": out / "week_refused.csv"}


def read_standard(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def sheet_rows(path: Path, sheet: str) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[sheet].iter_rows(values_only=True))


# ------------------------------------------------------------------------------------------------ the workbook
def test_the_workbook_has_the_ranked_list_and_the_refused_rows_in_danish(scored):
    book = openpyxl.load_workbook(scored["workbook"])
    assert book.sheetnames == ["Rangliste", "Afviste"]
    ranked = book["Rangliste"]
    header = [cell.value for cell in ranked[1]]
    assert header[:3] == ["Rang", "Sags-id", "Jobcenter"]
    assert {"Kø (sygemeldt)", "Horisont (uger)", "Risiko for over horisonten", "Risiko for over 22 uger",
            "Prioritet (høj/mellem/lav)", "Kontakt i denne uge (ja/nej)", "Begrundelser",
            "Modelversion"} <= set(header)
    column = {name: k for k, name in enumerate(header)}
    rows = list(ranked.iter_rows(min_row=2, values_only=True))
    assert {row[column["Prioritet (høj/mellem/lav)"]] for row in rows} <= {"høj", "mellem", "lav", None}
    assert {row[column["Kontakt i denne uge (ja/nej)"]] for row in rows} == {"ja", "nej"}
    assert {row[column["Kø (sygemeldt)"]] for row in rows} <= {"under 13 uger", "13 uger eller mere"}
    assert any("↑" in row[column["Begrundelser"]] for row in rows)
    refused = book["Afviste"]
    assert [cell.value for cell in refused[1]] == ["Række", "Sags-id", "Felt", "Værdi", "Årsag"]


def test_risks_are_numbers_shown_as_percentages(scored):
    ranked = openpyxl.load_workbook(scored["workbook"])["Rangliste"]
    header = [cell.value for cell in ranked[1]]
    risk_columns = [k for k, name in enumerate(header) if name.startswith("Risiko")]
    assert len(risk_columns) == 4
    risks = [row[k] for row in ranked.iter_rows(min_row=2) for k in risk_columns if row[k].value is not None]
    assert risks and all(cell.data_type == "n" and isinstance(cell.value, (int, float)) for cell in risks)
    assert any(isinstance(cell.value, float) for cell in risks)
    assert all(0 <= cell.value <= 1 and "%" in cell.number_format for cell in risks)
    ranks = [row[0] for row in ranked.iter_rows(min_row=2)]
    assert all(cell.data_type == "n" and isinstance(cell.value, int) for cell in ranks)


def test_the_header_row_is_frozen_filtered_and_the_columns_fit(scored):
    book = openpyxl.load_workbook(scored["workbook"])
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(sheet.max_column)}{sheet.max_row}"
    ranked = book["Rangliste"]
    widths = {}
    for dimension in ranked.column_dimensions.values():  # openpyxl groups neighbours of one width
        for index in range(dimension.min, dimension.max + 1):
            widths[index] = dimension.width
    header = [cell.value for cell in ranked[1]]
    reasons = header.index("Begrundelser") + 1
    assert widths[reasons] >= 80  # the reasons are read, not guessed at
    assert all(widths.get(k + 1, 0) >= max(len(word) for word in name.split()) for k, name in enumerate(header))


def test_the_workbook_holds_every_row_of_the_csv_in_the_same_order(scored):
    standard = read_standard(scored["csv"])
    frame = pd.read_excel(scored["workbook"], sheet_name="Rangliste", engine="calamine")
    assert len(frame) == len(standard) > 600
    assert frame["Sags-id"].astype(str).tolist() == standard["case_id"].str.removeprefix("'").tolist()
    assert frame["Rang"].tolist() == standard["rank"].astype(int).tolist()
    assert frame["Risiko for over horisonten"].dtype == np.float64
    csv_risk = pd.to_numeric(standard["risk"].replace("", None))
    np.testing.assert_array_equal(frame["Risiko for over horisonten"].to_numpy(), csv_risk.to_numpy(dtype=float))
    words = {"yes": "ja", "no": "nej"}
    assert frame["Kontakt i denne uge (ja/nej)"].tolist() == standard["contact_this_week"].map(words).tolist()
    assert frame["Begrundelser"].fillna("").tolist() == standard["reasons"].tolist()  # no reason: an empty cell


def test_the_refused_sheet_has_a_row_for_each_refused_line(scored):
    refused_csv = read_standard(scored["workbook_refused"])  # the refused CSV is still written beside it
    assert len(refused_csv) > 10
    rows = sheet_rows(scored["workbook"], "Afviste")[1:]
    assert len(rows) == len(refused_csv)
    assert [row[0] for row in rows] == refused_csv["row"].astype(int).tolist()
    assert [row[4] for row in rows] == refused_csv["reason"].tolist()
    assert [row[2] for row in rows] == [danish_field(name) for name in refused_csv["column"].fillna("")]


def test_formula_text_stays_a_string_cell_without_an_apostrophe(scored):
    book = openpyxl.load_workbook(scored["workbook"])
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [cell for cell in cells if cell.data_type == "f"], "a cell holds a formula"
    texts = {cell.value for cell in cells if cell.data_type == "s"}
    assert {FORMULA_JOBCENTER, FORMULA_AGE, MINUS_CASE_ID} <= texts
    assert FORMULA_CASE_ID in texts  # refused (not an identifier), shown as sent
    assert not [text for text in texts if text.startswith("'")]
    # The CSV, which a spreadsheet parses, keeps its guard.
    assert "'" + FORMULA_JOBCENTER in scored["csv"].read_text("utf-8").replace('""', '"')


def test_the_same_week_gives_the_same_workbook_whatever_the_chunks(model_dir, tmp_path, monkeypatch):
    """Rows arrive in merged slices of sorted runs: small chunks, slices and write batches change no byte."""
    from screening.scoring import _batch, _workbook, score_file

    week = hostile_week(tmp_path / "week.csv", rows=400, seed=22)
    whole = tmp_path / "whole.xlsx"
    score_file(week, model=model_dir, output=whole, capacity=3)
    monkeypatch.setattr(_batch, "MERGE_ROWS", 64)
    monkeypatch.setattr(_batch, "RUN_BATCH_ROWS", 16)
    monkeypatch.setattr(_workbook, "_ROWS_AT_A_TIME", 7)
    pieces = tmp_path / "pieces.xlsx"
    score_file(week, model=model_dir, output=pieces, capacity=3, chunk_rows=50)
    assert pieces.read_bytes() == whole.read_bytes()
    assert len(sheet_rows(pieces, "Rangliste")) > 350


def test_english_on_request(model_dir, week_file, tmp_path, capsys):
    output = tmp_path / "week.xlsx"
    code, out, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(output),
                         "--capacity", "2", "--language", "en")
    assert code == 0, err
    book = openpyxl.load_workbook(output)
    assert book.sheetnames == ["Ranked list", "Refused"]
    header = [cell.value for cell in book["Ranked list"][1]]
    assert header[:2] == ["Rank", "Case id"] and "Priority (high/medium/low)" in header
    column = header.index("Contact this week (yes/no)")
    assert {row[column] for row in book["Ranked list"].iter_rows(min_row=2, values_only=True)} == {"yes", "no"}
    assert [cell.value for cell in book["Refused"][1]] == ["Row", "Case id", "Field", "Value", "Reason"]


def test_a_week_too_long_for_a_sheet_is_refused_in_one_line_and_leaves_nothing(model_dir, week_file, tmp_path,
                                                                               capsys, monkeypatch):
    from screening.scoring import _workbook

    monkeypatch.setattr(_workbook, "MAX_SHEET_ROWS", 100)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output",
                            str(out / "week.xlsx"), "--audit-log", str(tmp_path / "audit.jsonl"))
    assert code == 2 and stdout == ""
    assert err.startswith("screening: fejl: ") and err.count("\n") == 1 and "skriv en .csv" in err
    assert not out.exists() or not any(out.iterdir())


def test_refused_rows_named_xlsx_are_refused(model_dir, week_file, tmp_path, capsys):
    code, _, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output",
                       str(tmp_path / "week.xlsx"), "--rejects", str(tmp_path / "refused.xlsx"))
    assert code == 2 and err.count("\n") == 1 and "--rejects refused.xlsx" in err
    assert list(tmp_path.iterdir()) == []


def test_a_column_the_list_grows_is_written_by_its_type(model_dir, week_file, tmp_path):
    """Columns ranked_table may grow are headed by their name, numbers stay numbers, flags become words."""
    import pyarrow as pa

    from screening.scoring import _workbook
    from screening.scoring._output import csv_dialect, header_line, write_table_lines

    table = pa.table({"rank": [1, 2, 3], "case_id": ["A", "B", "-C"], "risk": [0.5, 0.25, None],
                      "follow_up_week": pa.array([22, None, 8], pa.int64()), "score": [0.125, float("nan"), 2.5],
                      "flag": [True, False, None], "note": ["x", None, "=1+1"], "priority": ["high", "low", "?"]})
    path = tmp_path / "grown.xlsx"
    book = _workbook.WeekWorkbook(path, ranked_columns=table.column_names, refused_columns=["row"], language="da")
    book.add_ranked(table)
    book.close()
    rows = sheet_rows(path, "Rangliste")
    assert rows[0] == ("Rang", "Sags-id", "Risiko for over 13 uger", "follow_up_week", "score", "flag", "note",
                       "Prioritet (høj/mellem/lav)")
    assert rows[1:] == [(1, "A", 0.5, 22, 0.125, "ja", "x", "høj"), (2, "B", 0.25, None, None, "nej", None, "lav"),
                        (3, "-C", None, 8, 2.5, None, "=1+1", "?")]
    danish = csv_dialect("danish_excel")
    with (tmp_path / "grown.csv").open("wb") as handle:
        handle.write(header_line(table.column_names, dialect=danish, language="da"))
        write_table_lines(table, handle, dialect=danish, language="da")
    text = (tmp_path / "grown.csv").read_bytes().decode("utf-8-sig")
    assert text.split("\r\n")[1:4] == ["1;A;0,5000;22;0,125;ja;x;høj", "2;B;0,2500;;;nej;;lav",
                                       "3;'-C;;8;2,5;;'=1+1;?"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60), min_size=1,
                      max_size=8))
def test_any_text_reads_back_as_written(texts, tmp_path_factory):
    """Whatever a file sends (control characters, formulas, escapes like ``_x0041_``), Excel reads it back."""
    from screening.scoring import _workbook

    path = tmp_path_factory.mktemp("texts") / "texts.xlsx"
    names = ["row", "case_id", "column", "value", "reason"]
    book = _workbook.WeekWorkbook(path, ranked_columns=["rank"], refused_columns=names, language="en")
    book.add_refused(pd.DataFrame({"row": np.arange(2, len(texts) + 2), "case_id": texts, "column": "age",
                                   "value": texts, "reason": "r"}))
    book.close()
    frame = pd.read_excel(path, sheet_name="Refused", engine="calamine", dtype=str, keep_default_na=False)
    assert frame["Case id"].tolist() == texts and frame["Value"].tolist() == texts


# ------------------------------------------------------------------------------------------- the CSV dialects
def test_the_danish_excel_csv_reads_in_danish_excel_with_the_same_risks(scored):
    raw = scored["danish"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\r\n") == raw.count(b"\n")
    danish = pd.read_csv(scored["danish"], sep=";", decimal=",", encoding="utf-8-sig", dtype={"Sags-id": str})
    standard = pd.read_csv(scored["csv"], dtype={"case_id": str})
    assert len(danish) == len(standard) > 600
    assert danish.columns[:3].tolist() == ["Rang", "Sags-id", "Jobcenter"]
    assert danish["Sags-id"].str.lstrip("'").tolist() == standard["case_id"].str.lstrip("'").tolist()
    for ours, theirs in (("Risiko for over horisonten", "risk"), ("Risiko for over 8 uger", "risk_8"),
                         ("Risiko for over 22 uger", "risk_22"), ("Risiko for over 52 uger", "risk_52")):
        assert danish[ours].dtype == np.float64
        np.testing.assert_array_equal(danish[ours].to_numpy(), standard[theirs].to_numpy())
    assert set(danish["Kontakt i denne uge (ja/nej)"]) == {"ja", "nej"}
    assert danish["Begrundelser"].str.contains("↑").any() and "hård" in raw.decode("utf-8-sig")


def test_the_danish_excel_refused_rows_match_the_standard_ones(scored):
    raw = scored["danish_refused"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    danish = pd.read_csv(scored["danish_refused"], sep=";", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    standard = read_standard(scored["refused"])
    assert danish.columns.tolist() == ["Række", "Sags-id", "Felt", "Værdi", "Årsag"]
    # The same rows; a field named as the consultant reads it, with its name from the contract (the standard file's).
    labelled = standard.assign(column=[danish_field(name) for name in standard["column"]])
    assert danish.to_numpy().tolist() == labelled.to_numpy().tolist()
    assert "alder (age)" in set(danish["Felt"])


def danish_field(name: str) -> str:
    from screening.intake import load_contract

    return "(hele rækken)" if not name else f"{load_contract(training=True).fields[name].label_da} ({name})"


def test_the_standard_csv_is_the_machine_format(scored, model_dir, week_file, tmp_path):
    from screening.scoring import load_model, score_file
    from screening.scoring._output import ranked_bytes

    raw = scored["csv"].read_bytes()
    assert raw.startswith(b"rank,case_id,jobcenter,queue,horizon,risk,") and b"\r" not in raw
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b",yes," in raw and b"0." in raw
    # The same bytes as the library's in-memory list, as before the dialects came.
    forms = pd.read_csv(week_file, dtype=str, keep_default_na=False).replace("", None)
    result = load_model(model_dir).score(forms, capacity=5, per="jobcenter")
    assert ranked_bytes(result.ranked) == raw
    explicit = tmp_path / "explicit.csv"
    score_file(week_file, model=model_dir, output=explicit, capacity=5, per="jobcenter", dialect="standard")
    assert explicit.read_bytes() == raw


def test_the_command_writes_the_danish_excel_dialect(model_dir, week_file, tmp_path, capsys):
    output = tmp_path / "week.csv"
    code, _, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output", str(output),
                       "--dialect", "danish_excel")
    assert code == 0, err
    assert output.read_bytes().startswith("\ufeffRang;Sags-id;".encode())
    assert (tmp_path / "week_refused.csv").read_bytes().startswith("\ufeffRække;".encode())


def test_an_unknown_dialect_is_one_line(model_dir, week_file, tmp_path, capsys):
    from screening.scoring import score_file

    code, _, err = run(capsys, "--model", str(model_dir), "--input", str(week_file), "--output",
                       str(tmp_path / "o.csv"), "--dialect", "excel")
    assert code == 2 and err.count("\n") == 1 and "--dialect" in err
    with pytest.raises(ValueError, match="dialect must be one of standard, danish_excel"):
        score_file(week_file, model=model_dir, output=tmp_path / "o.csv", dialect="excel")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------- LibreOffice
def test_libreoffice_runs_no_formula_of_the_workbook(scored, tmp_path):
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui)")
    copy = tmp_path / "week.xlsx"
    shutil.copy(scored["workbook"], copy)
    # Every sheet to its own CSV (the filter's last option: -1), UTF-8, comma, text quoted, shown as formatted.
    csv_filter = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,true,true,false,false,-1'
    done = subprocess.run([office, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
                           "--convert-to", csv_filter, "--outdir", str(tmp_path), str(copy)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    ranked = pd.read_csv(tmp_path / "week-Rangliste.csv", dtype=str, keep_default_na=False)
    refused = pd.read_csv(tmp_path / "week-Afviste.csv", dtype=str, keep_default_na=False)
    assert len(ranked) == len(read_standard(scored["csv"])) and len(refused) == len(read_standard(scored["refused"]))
    assert FORMULA_JOBCENTER in set(ranked["Jobcenter"])  # shown as sent: not a link, not "klik"
    assert MINUS_CASE_ID in set(ranked["Sags-id"])
    assert {FORMULA_AGE, FORMULA_CASE_ID} <= set(refused["Værdi"]) | set(refused["Sags-id"])
    assert "2" not in set(refused["Værdi"]) - set(read_standard(scored["refused"])["value"])  # =1+1 did not run
    assert ranked["Risiko for over horisonten"].str.fullmatch(r"\d+\.\d%|").all()  # shown as a percentage

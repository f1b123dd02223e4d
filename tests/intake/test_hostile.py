"""Hostile and malformed files: each has a documented outcome, nothing is lost, nothing leaks.

Every case runs through the command line (`screening validate`, and `screening score`
when a model is available) as a user would. For each: the exit code is as documented,
no traceback is printed, rows read = valid (or scored) + refused, no CPR number is echoed
in full on stdout, stderr or any file written, and no written cell starts a formula.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screening.cli import main
from tests.conftest import HEADER, form, write_csv_text

CPR_DIGITS = re.compile(r"\d{6}[- ]?\d{4}|(?<!\d)102031234(?!\d)")
CPRS = ["010203-1234", "0102031234", "311299-9999", "010203 1234", "102031234"]


@dataclass
class Case:
    """A hostile input and what it must get."""

    name: str
    build: Callable[[Path], Path]
    exit_code: int = 0
    valid: int | None = None
    refused: int | None = None
    kinds: set[str] = field(default_factory=set)
    message: str = ""


def csv_of(rows: list[dict[str, str]], **options) -> Callable[[Path], Path]:
    return lambda folder: write_csv_text(folder / "input.csv", rows, header=options.pop("header", HEADER), **options)


def raw(content: bytes, suffix: str = ".csv") -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / f"input{suffix}"
        path.write_bytes(content)
        return path

    return build


def lines(*text: str, suffix: str = ".csv", encoding: str = "utf-8") -> Callable[[Path], Path]:
    return raw(("\n".join(text) + "\n").encode(encoding), suffix)


def good_csv_text(n: int = 3, **values) -> list[str]:
    rows = [form(case_id=f"H-{i}", **values) for i in range(n)]
    return [",".join(HEADER)] + [",".join(row[name] for name in HEADER) for row in rows]


def parquet_bytes(n: int = 3) -> bytes:
    frame = pd.DataFrame([form(case_id=f"P-{i}") for i in range(n)])
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    return buffer.getvalue()


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def one_bad(column: str, value: str) -> list[dict[str, str]]:
    return [form(case_id="OK-1"), form(case_id="BAD-1", **{column: value}) if column != "case_id" else form(case_id=value)]


GOOD = good_csv_text()
CASES = [
    # --- the file as a whole -------------------------------------------------------------
    Case("empty file", raw(b""), 2, message="empty"),
    Case("only a byte-order mark", raw(b"\xef\xbb\xbf"), 2, message="empty"),
    Case("only blank lines", raw(b"\r\n\n \n"), 2, message="empty"),
    Case("binary garbage", raw(bytes(range(256)) * 40), 2, message="binary"),
    Case("a PNG renamed .csv", raw(b"\x89PNG\r\n\x1a\n" + b"\x00" * 200), 2, message="binary"),
    Case("truncated Parquet", raw(parquet_bytes()[:300], ".parquet"), 2, message="Parquet"),
    Case("Parquet magic, garbage inside", raw(b"PAR1" + b"x" * 500 + b"PAR1", ".parquet"), 2, message="Parquet"),
    Case("truncated .xlsx", raw(xlsx_bytes([HEADER])[:400], ".xlsx"), 2, message=".xlsx"),
    Case("a zip that is not a workbook", raw(b"PK\x03\x04" + b"\x00" * 100, ".xlsx"), 2, message=".xlsx"),
    Case("empty first sheet", raw(xlsx_bytes([]), ".xlsx"), 2, message="empty"),
    Case("header only", lines(",".join(HEADER)), 0, valid=0, refused=0),
    Case("no header row (data first)", lines(*GOOD[1:]), 2, message="required column missing"),
    Case("required column missing", lines(",".join(h for h in HEADER if h != "age"), "x"), 2, message="age"),
    Case("neither sick_weeks nor sick_leave_start", lines("case_id,age,physical_load", "A,40,2"), 2,
         message="sick_weeks or sick_leave_start"),
    Case("duplicated header", lines(",".join(HEADER + ["age"]), *[line + ",40" for line in GOOD[1:]]), 2,
         message="appears twice"),
    Case("duplicated header after case-folding", lines(",".join(HEADER + [" AGE "]), *[line + ",40" for line in GOOD[1:]]), 2,
         message="appears twice"),
    Case("blank and unknown header names are ignored", lines(",".join(HEADER + ["", "notes"]), *[line + ",,x" for line in GOOD[1:]]),
         0, valid=3, refused=0),
    Case("a thousand extra columns", lines(",".join(HEADER + [f"x{i}" for i in range(1000)]),
                                           *[line + "," * 1000 for line in GOOD[1:]]), 0, valid=3, refused=0),
    # --- records ---------------------------------------------------------------------------
    Case("a row with too many fields", lines(*GOOD, GOOD[1].replace("H-0", "H-9") + ",x,y"), 0, valid=3, refused=1,
         kinds={"malformed_row"}),
    Case("a row with too few fields", lines(*GOOD, "H-9,Aarhus"), 0, valid=3, refused=1, kinds={"malformed_row"}),
    Case("an unbalanced quote in the middle", lines(GOOD[0], GOOD[1], GOOD[2].replace("Aarhus", '"Aarhus'), GOOD[3]),
         0, valid=2, refused=1, kinds={"unbalanced_quote"}),
    Case("quotes inside an unquoted value are literal", lines(*GOOD[:3], GOOD[3].replace("Aarhus", 'Aar"hus"x"')), 0,
         valid=3, refused=0),
    Case("an unbalanced quote on the last row", lines(*GOOD[:3], GOOD[3].replace("Aarhus", '"Aarhus')), 0,
         valid=2, refused=1, kinds={"unbalanced_quote"}),
    Case("a quoted value spanning lines", lines(GOOD[0], GOOD[1].replace("Aarhus", '"Aar\nhus"'), *GOOD[2:]), 0,
         valid=3, refused=0),
    Case("CRLF and LF mixed", raw(("\r\n".join(GOOD[:2]) + "\n" + "\n".join(GOOD[2:]) + "\r\n").encode()), 0, valid=3, refused=0),
    Case("UTF-16 'Unicode text' from Excel", raw("\n".join(line.replace(",", "\t") for line in GOOD).encode("utf-16")), 0,
         valid=3, refused=0),
    Case("mixed UTF-8 and Windows-1252 lines", raw(("\n".join(GOOD[:2]) + "\n").encode() +
                                                  ("\n".join(GOOD[2:]).replace("Aarhus", "Køge") + "\n").encode("cp1252")),
         0, valid=3, refused=0),
    Case("blank rows between forms", lines(GOOD[0], GOOD[1], "," * (len(HEADER) - 1), GOOD[2]), 0, valid=2, refused=0),
    Case("duplicated case_id", csv_of([form(case_id="D"), form(case_id="D"), form(case_id="E")]), 0, valid=1, refused=2,
         kinds={"duplicate_case_id"}),
    # --- values ----------------------------------------------------------------------------
    Case("age is text", csv_of(one_bad("age", "fyrre")), 0, valid=1, refused=1, kinds={"not_a_number"}),
    Case("age out of range", csv_of(one_bad("age", "200")), 0, valid=1, refused=1, kinds={"out_of_range"}),
    Case("age is nan", csv_of(one_bad("age", "nan")), 0, valid=1, refused=1, kinds={"not_a_number"}),
    Case("age is inf", csv_of(one_bad("age", "inf")), 0, valid=1, refused=1, kinds={"not_finite"}),
    Case("sick_weeks negative", csv_of(one_bad("sick_weeks", "-1")), 0, valid=1, refused=1),
    Case("sick_weeks 1e308", csv_of(one_bad("sick_weeks", "1e308")), 0, valid=1, refused=1),
    Case("weekly_hours -inf", csv_of(one_bad("weekly_hours", "-inf")), 0, valid=1, refused=1, kinds={"not_finite"}),
    Case("physical_load 0", csv_of(one_bad("physical_load", "0")), 0, valid=1, refused=1, kinds={"unknown_code"}),
    Case("work_ability fractional", csv_of(one_bad("work_ability", "5.5")), 0, valid=1, refused=1, kinds={"not_whole"}),
    Case("Excel error value", csv_of(one_bad("prior_sick_weeks_12m", "#N/A")), 0, valid=1, refused=1, kinds={"not_a_number"}),
    Case("boolean nonsense", csv_of(one_bad("employer_contact", "måske")), 0, valid=1, refused=1, kinds={"not_yes_no"}),
    Case("impossible date", csv_of(one_bad("form_received", "2026-02-30")), 0, valid=1, refused=1, kinds={"impossible_date"}),
    Case("impossible Danish date", csv_of(one_bad("sick_leave_start", "31.04.2026")), 0, valid=1, refused=1, kinds={"impossible_date"}),
    Case("year 9999", csv_of(one_bad("form_received", "9999-01-01")), 0, valid=1, refused=1, kinds={"implausible_date"}),
    Case("10,000 characters of text", csv_of(one_bad("jobcenter", "x" * 10_000)), 0, valid=1, refused=1, kinds={"too_long"}),
    Case("10,000-character case_id", csv_of(one_bad("case_id", "y" * 10_000)), 0, valid=1, refused=1),
    Case("control characters", csv_of(one_bad("jobcenter", "Aar\x1b[31mhus\x07")), 0, valid=1, refused=1,
         kinds={"control_characters"}),
    Case("a 1 MB cell", csv_of(one_bad("diagnosis_code", "M" * 1_000_000)), 0, valid=1, refused=1, kinds={"too_long"}),
    # A record over two of Arrow's blocks (``ARROW_BLOCK_BYTES``) is more than Arrow can hold: the line-aware reader.
    Case("a 9 MB quoted cell over lines", csv_of(one_bad("treatment", "a\nb," + "c" * 9_000_000)), 0, valid=1,
         refused=1, kinds={"too_long"}),
    Case("unknown ICD-10 code", csv_of(one_bad("diagnosis_code", "M99.99")), 0, valid=1, refused=1, kinds={"invalid_icd10"}),
    Case("formula in a text cell", csv_of(one_bad("sex", "=HYPERLINK(\"http://evil\",\"x\")")), 0, valid=1, refused=1),
    Case("formula starting with +", csv_of(one_bad("treatment", "+cmd|' /C calc'!A0")), 0, valid=1, refused=1),
    Case("formula starting with -", csv_of(one_bad("expected_return", "-2+3")), 0, valid=1, refused=1),
    Case("formula starting with @", csv_of(one_bad("employment_status", "@SUM(1+1)")), 0, valid=1, refused=1),
    Case("HTML in a text field", csv_of([form(case_id="X1", jobcenter="<script>alert(1)</script><b>x</b>")]), 0,
         valid=1, refused=0),
    *[Case(f"CPR number in {column}", csv_of(one_bad(column, CPRS[i % len(CPRS)])), 0, valid=1, refused=1, kinds={"cpr_shaped"})
      for i, column in enumerate(HEADER)],
    Case("CPR number inside free text", csv_of(one_bad("jobcenter", f"team of {CPRS[0]}")), 0, valid=1, refused=1,
         kinds={"cpr_shaped"}),
    Case("CPR number as a header name", lines(",".join(HEADER + [CPRS[1]]), *[line + ",x" for line in GOOD[1:]]), 0,
         valid=3, refused=0),
]


def everything_written(folder: Path) -> str:
    texts = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.startswith("input"):
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(texts)


def assert_no_formula_cells(folder: Path) -> None:
    for path in folder.glob("*.csv"):
        if path.name.startswith("input"):
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            starts = frame[column].str[:1]
            assert not starts.isin(["=", "+", "-", "@"]).any(), f"{path.name}:{column} starts a formula"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_validate_handles_hostile_input(case, tmp_path, capsys):
    source = case.build(tmp_path)
    rejects = tmp_path / "refused.csv"
    code = main(["validate", "--input", str(source), "--rejects", str(rejects), "--language", "en"])
    out, err = capsys.readouterr()
    assert code == case.exit_code, err
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("screening: error:") and err.count("\n") == 1
        assert case.message in err
        assert not rejects.exists()
    else:
        read = int(re.search(r"read:\s+([\d,]+)", out).group(1).replace(",", ""))
        valid = int(re.search(r"valid:\s+([\d,]+)", out).group(1).replace(",", ""))
        refused = int(re.search(r"refused:\s+([\d,]+)", out).group(1).replace(",", ""))
        assert read == valid + refused
        written = pd.read_csv(rejects, dtype=str, keep_default_na=False)
        assert written["row"].nunique() == refused
        if case.valid is not None:
            assert (valid, refused) == (case.valid, case.refused)
        if case.kinds:
            assert case.kinds <= set(re.findall(r": [^:\n]*\((\w+)\)$", out, flags=re.MULTILINE))
    leaked = CPR_DIGITS.findall(out + err + everything_written(tmp_path))
    assert not leaked, f"CPR-shaped number echoed: {leaked[:3]}"
    assert_no_formula_cells(tmp_path)


def test_there_are_at_least_forty_hostile_files():
    assert len(CASES) >= 40

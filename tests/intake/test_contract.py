"""The human contract (docs/intake-form.md) and the schema in data/schemas/ agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from screening.intake import load_contract

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "intake-form.md"
SHARED_PAGE = ROOT.parent / "shared" / "intake-form.md"


def page_table(heading: str) -> dict[str, dict[str, str]]:
    """Rows of the first Markdown table after a heading, keyed by the backticked column name."""
    text = PAGE.read_text("utf-8")
    section = text.split(heading, 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) != len(header):
            break
        row = dict(zip(header, cells))
        rows[row["column"].strip("`")] = row
    return rows


FORM = page_table("## One row per form")
TRAINING = page_table("## Training data")
CONTRACT = load_contract(training=True)


def test_the_copy_of_the_contract_is_current():
    if not SHARED_PAGE.exists():
        pytest.skip("shared/ is not beside this checkout")
    assert PAGE.read_text("utf-8") == SHARED_PAGE.read_text("utf-8"), "copy ../shared/intake-form.md to docs/"


def test_same_columns_in_the_same_order():
    assert list(FORM) + [c for c in TRAINING if c not in FORM] == CONTRACT.columns


def test_required_columns_agree():
    page_required = {name for name, row in FORM.items() if row["required"] == "yes"}
    assert page_required == set(load_contract().required_columns)
    one_of = {name for name, row in FORM.items() if row["required"].startswith("one of")}
    assert one_of == {name for group in CONTRACT.required_one_of.values() for name in group}
    assert set(TRAINING) <= set(CONTRACT.required_columns)


def _numbers(text: str) -> list[float]:
    return [float(value) for value in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", text)]


@pytest.mark.parametrize("name", list(FORM) + list(TRAINING))
def test_types_ranges_and_code_lists_agree(name):
    row = FORM.get(name) or TRAINING[name]
    kind = row.get("type and accepted values") or row["type"]
    spec = CONTRACT.fields[name]
    dtype = str(CONTRACT.schema.columns[name].dtype)
    if kind.startswith("text"):
        assert "str" in dtype and spec.parse in ("identifier", "text")
    elif kind.startswith("date"):
        assert dtype.startswith("datetime64") and spec.parse == "date"
    elif kind.startswith("whole number"):
        assert dtype == "Int64" and spec.parse == "whole"
        assert [spec.minimum, spec.maximum] == _numbers(kind)[:2]
    elif kind.startswith("number"):
        assert dtype == "float64" and spec.parse == "number"
        bounds = _numbers(kind)
        assert spec.minimum == bounds[0]
        assert spec.maximum == (bounds[1] if len(bounds) > 1 else None)
    elif kind.startswith("yes/no"):
        assert dtype == "boolean" and spec.parse == "boolean"
    elif name == "physical_load":  # "1 sedentary, 2 light, ...; Danish `stillesiddende`, ..."
        levels = dict(re.findall(r"(\d) (\w+)", kind))
        assert (spec.minimum, spec.maximum) == (1, 4) and dtype == "Int64"
        for level, english in levels.items():
            assert spec.labels[english] == int(level)
        danish = re.findall(r"`([^`]+)`", kind.split("Danish", 1)[1])
        assert [spec.labels[label] for label in danish] == [1, 2, 3, 4]
    elif name == "diagnosis_code":  # ICD-10 as written: `M54.5`, `M545`, Danish SKS `DM545`
        from screening.intake._icd10 import normalise_codes
        import pandas as pd

        examples = re.findall(r"`([^`]+)`", kind)
        code, _, group, invalid = normalise_codes(pd.Series(examples, dtype="str"))
        assert spec.parse == "icd10" and not invalid.any() and set(code) == {"M54.5"}
        assert CONTRACT.fields["diagnosis_code"].options["group_column"] == "diagnosis_group"
    else:  # a code list in backticks, optionally followed by accepted Danish spellings
        codes_part, _, danish_part = kind.partition("Danish")
        codes = re.findall(r"`([^`]+)`", codes_part)
        assert list(spec.codes) == codes and "str" in dtype
        for label in re.findall(r"`([^`]+)`", danish_part):
            assert label.casefold() in spec.labels or label in codes


def test_boolean_spellings_of_the_page_are_accepted():
    labels = load_contract().boolean_labels
    for yes, no in [("ja", "nej"), ("true", "false"), ("1", "0")]:
        assert labels[yes] is True and labels[no] is False


def test_date_formats_of_the_page_are_parsed():
    from screening.intake._parse import DATE_FORMATS

    examples = re.findall(r"`(\d[\d.-]+\d)`", FORM["form_received"]["notes"])
    assert examples == ["2026-11-16", "16-11-2026", "16.11.2026"]
    for example in examples:
        assert any(pattern.match(example) for pattern, _ in DATE_FORMATS)

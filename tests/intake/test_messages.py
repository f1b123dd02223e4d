"""What a person reads about a refusal: Danish by default, English on request, fields by their labels,
numbers as the language writes them, and every file error in both languages."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import numpy as np
import pytest

from screening.intake import FileError, forms_table, load_contract, validate_file, validate_table
from screening.synthetic import simulate_cohort
from tests.conftest import form

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = load_contract(training=True)


def reasons(result, column: str) -> list[str]:
    return result.refused.loc[result.refused["column"] == column, "reason"].tolist()


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize("day", ["30-02-2026", "29.02.2026", "2026-04-31", "31/06/2027", "12-13-2026", "2026-00-10"])
def test_a_date_in_a_known_format_that_does_not_exist_is_called_impossible(forms_file, day):
    path = forms_file([form(form_received=day)])
    danish, english = validate_file(path).refused, validate_file(path, language="en").refused
    assert danish["kind"].tolist() == english["kind"].tolist() == ["impossible_date"]
    assert danish["reason"].iloc[0] == f"datoen findes ikke ({day})"
    assert english["reason"].iloc[0] == f"the date does not exist ({day})"


def test_a_leap_day_exists_in_a_leap_year_only(forms_file):
    result = validate_file(forms_file([form(case_id="leap", form_received="29-02-2028", sick_leave_start="01-02-2028"),
                                       form(case_id="not", form_received="29-02-2027", sick_leave_start="01-02-2027")]))
    assert result.valid["case_id"].tolist() == ["leap"]
    assert result.refused["kind"].tolist() == ["impossible_date"]


def test_a_date_in_no_known_format_is_still_not_a_date(forms_file):
    result = validate_file(forms_file([form(form_received="16 november 2026")]))
    assert result.refused["kind"].tolist() == ["not_a_date"]
    assert result.refused["reason"].iloc[0].startswith("ikke en dato i et kendt format")


# ------------------------------------------------------------------ code lists


def test_an_unknown_physical_load_lists_the_danish_labels_and_the_codes(forms_file):
    path = forms_file([form(physical_load="meget hård")])
    danish = validate_file(path).refused["reason"].tolist()
    english = validate_file(path, language="en").refused["reason"].tolist()
    assert danish == ["ikke en af: stillesiddende, let, middel, hård (eller 1–4)"]
    assert english == ["not one of: sedentary, light, moderate, heavy (or 1–4)"]


@pytest.mark.parametrize("column", [name for name, spec in CONTRACT.fields.items() if spec.code_names.get("da")])
def test_the_labels_a_refusal_offers_come_from_the_contract_and_are_accepted(forms_file, column):
    names = CONTRACT.fields[column].code_names["da"]
    (offered,) = reasons(validate_file(forms_file([form(**{column: "intet af det"})])), column)
    assert offered.startswith("ikke en af: " + ", ".join(str(name) for name in names.values()) + " (eller ")
    # Every label offered is one a form may carry, and it reads as the code it names.
    rows = [form(case_id=f"C{i}", diagnosis_code=None) | {column: str(name)} for i, name in enumerate(names.values())]
    result = validate_file(forms_file(rows))
    assert result.refused.empty, result.refused
    assert result.valid[column].tolist() == list(names)


# ------------------------------------------------------------------ numbers and field labels


@pytest.mark.parametrize("seed", [3, 17, 2026])
def test_weeks_that_disagree_with_the_dates_are_written_with_a_decimal_comma_in_danish(seed):
    forms = simulate_cohort(80, seed=seed).forms
    clean = validate_table(forms_table(forms)).valid  # the dates as the validator reads them; index: row
    assert len(clean) == len(forms)
    derived = ((clean["form_received"] - clean["sick_leave_start"]).dt.days / 7).round(1).dropna()
    forms.loc[derived.index - 2, "sick_weeks"] = (derived + 5).map("{:.1f}".format).to_numpy()
    danish = validate_table(forms_table(forms))
    english = validate_table(forms_table(forms), language="en")
    said = danish.refused[danish.refused["kind"] == "weeks_disagree_with_dates"]
    assert said["row"].tolist() == derived.index.tolist() and len(said) > 40
    pattern = re.compile(r"passer ikke med datoerne \((\d+(?:,\d)?) uger fra første sygedag til skemaets modtagelsesdato\)")
    for row, reason in zip(said["row"], said["reason"]):
        weeks = pattern.fullmatch(reason)
        assert weeks, reason
        assert float(weeks.group(1).replace(",", ".")) == derived[row]
    assert any("," in reason for reason in said["reason"])  # some weeks are not whole
    english_said = english.refused.loc[english.refused["kind"] == "weeks_disagree_with_dates", "reason"]
    assert english_said.str.fullmatch(r"disagrees with the dates \(\d+(\.\d)? weeks from the first sick day to the "
                                      r"date the form was received\)").all()


def test_a_reason_names_fields_by_their_danish_label(forms_file):
    path = forms_file([form(case_id="A", sick_weeks=None, sick_leave_start=None), form(case_id="B"),
                       form(case_id="B")])
    danish = validate_file(path).refused.set_index("kind")["reason"]
    english = validate_file(path, language="en").refused.set_index("kind")["reason"]
    assert danish["cannot_derive_weeks"] == "mangler og kan ikke beregnes: kræver første sygedag og skemaets modtagelsesdato"
    assert set(danish["duplicate_case_id"]) == {"sags-id findes flere gange i filen; ingen af dem scores"}
    assert english["cannot_derive_weeks"] == ("missing and cannot be derived: needs the first sick day and the date the "
                                              "form was received")


@pytest.mark.parametrize("seed", [1, 8, 44])
def test_no_danish_reason_holds_a_column_name_or_a_decimal_point(seed):
    forms = simulate_cohort(300, seed=seed, invalid_share=0.3).forms
    rng = np.random.default_rng(seed)
    some = rng.choice(len(forms), 40, replace=False)
    forms.loc[some[:10], "sick_weeks"] = "51.5"  # disagrees with the dates
    forms.loc[some[10:20], ["sick_weeks", "sick_leave_start"]] = None  # cannot be derived
    forms.loc[some[20:30], "physical_load"] = "meget hård"
    refused = validate_table(forms_table(forms)).refused
    assert len(refused) > 50
    columns = [name for name in CONTRACT.columns if "_" in name]
    # Left out: the kinds that quote dates as written (16.11.2026).
    for reason in refused.loc[~refused["kind"].isin(["not_a_date", "impossible_date"]), "reason"]:
        assert not [name for name in columns if name in reason], reason
        assert not re.search(r"\d\.\d", reason), reason


def test_training_outcomes_name_the_weeks_by_their_label_and_a_decimal_comma(forms_file):
    rows = [form(case_id="a", sick_weeks="6,5", sick_leave_start=None) | {"absence_weeks": "2", "spell_ended": "nej"}]
    result = validate_file(forms_file(rows), training=True)
    assert reasons(result, "absence_weeks") == ["kortere end fraværet, da skemaet blev modtaget (uger sygemeldt: 6,5)"]


def test_every_field_has_a_danish_and_an_english_label():
    for name, spec in CONTRACT.fields.items():
        assert spec.label_da and spec.label_en, name
        assert spec.label_in("da") == spec.label_da and spec.label_in("en") == spec.label_en
    assert CONTRACT.fields["sick_leave_start"].label_da == "første sygedag"


# ------------------------------------------------------------------ file errors


def test_a_file_error_speaks_danish_on_request_and_english_to_library_callers(tmp_path):
    with pytest.raises(FileError) as caught:
        validate_file(tmp_path / "uge47.csv")
    error = caught.value
    assert error.kind == "no_such_file"
    assert str(error).endswith("uge47.csv: no such file")
    assert error.text().endswith("uge47.csv: filen findes ikke") and error.text("en") == str(error)


@pytest.mark.parametrize(
    ("header", "danish", "english"),
    [(["case_id", "age", "sick_weeks"], "påkrævet kolonne mangler: physical_load (fysisk belastning i jobbet)",
      "required column missing: physical_load"),
     (["case_id", "age", "physical_load"], "sick_weeks (uger sygemeldt) eller sick_leave_start (første sygedag)",
      "sick_weeks or sick_leave_start"),
     (["case_id", "age", "AGE", "physical_load", "sick_weeks"], "kolonneoverskriften 'AGE' står der to gange",
      "the column header 'AGE' appears twice")],
)
def test_header_problems_are_told_in_both_languages(forms_file, header, danish, english):
    with pytest.raises(FileError) as caught:
        validate_file(forms_file([{name: "1" for name in header}], header=header))
    assert danish in caught.value.text("da") and english in str(caught.value)


def test_a_file_error_never_shows_a_cpr_number_in_either_language(tmp_path):
    with pytest.raises(FileError) as caught:
        validate_file(tmp_path / "borger-120345-1234.csv")
    for text in (str(caught.value), caught.value.text("da"), caught.value.text("en")):
        assert "120345" not in text and "******-****" in text


def test_a_file_error_keeps_its_languages_when_pickled():
    import pickle

    error = pickle.loads(pickle.dumps(FileError("changed_while_read", name="uge.csv")))
    assert error.text("da") == "uge.csv blev ændret, mens den blev læst; kør igen"
    assert str(error) == "uge.csv changed while it was being read; run again"


def _file_error_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for path in sorted((ROOT / "screening").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "FileError":
                calls.append((str(path.relative_to(ROOT)), node.lineno, node))
    return calls


def test_every_file_error_raised_has_a_danish_and_an_english_text():
    from screening.intake._messages import FILE_ERRORS

    calls = _file_error_calls()
    assert len(calls) > 20
    for path, line, call in calls:
        if path.endswith("_table.py"):  # the class's own rebuilding from a pickle
            continue
        kind = call.args[0] if call.args else None
        kinds = [kind.body, kind.orelse] if isinstance(kind, ast.IfExp) else [kind]  # "a" if ... else "b"
        for kind in kinds:
            assert isinstance(kind, ast.Constant) and kind.value in FILE_ERRORS, f"{path}:{line}: not a catalogue kind"
            needed = {name for _, name, _, _ in string.Formatter().parse(FILE_ERRORS[kind.value][1]) if name}
            given = {keyword.arg for keyword in call.keywords}
            assert needed <= given, f"{path}:{line}: {kind.value} needs {sorted(needed - given)}"


@pytest.mark.parametrize("catalogue", ["REASONS", "FILE_ERRORS"])
def test_both_languages_of_a_message_name_the_same_facts(catalogue):
    from screening.intake import _messages

    for kind, (danish, english) in getattr(_messages, catalogue).items():
        fields = [{name for _, name, _, _ in string.Formatter().parse(text) if name} for text in (danish, english)]
        assert fields[0] == fields[1], kind
        assert danish != english, kind


def test_a_refused_form_says_a_file_level_problem_in_its_language():
    from screening.intake import FormValidator, RefusedFormError

    validator = FormValidator()
    for language, said in (("da", "står der to gange"), ("en", "appears twice")):
        with pytest.raises(RefusedFormError) as caught:
            validator.validate(form() | {"AGE": "40"}, language=language)
        assert said in caught.value.reasons[0]["reason"]


def test_every_reason_has_a_short_label_in_both_languages():
    """A summary counts refusals by kind in words, not by their codes alone (a user's report:
    "sags-id (case_id): duplicate_case_id" in a Danish summary)."""
    from screening.intake import reason_label
    from screening.intake._messages import REASON_LABELS, REASONS

    assert set(REASON_LABELS) == set(REASONS)
    for kind, (danish, english) in REASON_LABELS.items():
        assert danish and english and "{" not in danish + english
        assert reason_label(kind) == f"{danish} ({kind})" and reason_label(kind, "en") == f"{english} ({kind})"
    assert reason_label("duplicate_case_id") == "findes flere gange (duplicate_case_id)"

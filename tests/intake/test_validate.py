"""Validation: every form is valid or refused with column, value and reason; nothing is lost."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.intake import FileError, validate_file
from tests.conftest import form


def refusals(result, column: str) -> pd.DataFrame:
    return result.refused[result.refused["column"] == column]


def assert_accounted(result) -> None:
    assert result.rows_read == len(result.valid) + result.refused_rows


def test_a_clean_form_is_valid_and_typed(forms_file):
    result = validate_file(forms_file([form()]))
    assert result.refused.empty
    row = result.valid.iloc[0]
    assert result.valid.index.tolist() == [2]  # header is row 1
    assert row["age"] == 45 and row["physical_load"] == 4 and row["sick_weeks"] == 4.0
    assert row["diagnosis_group"] == "musculoskeletal"
    assert bool(row["employer_contact"]) is True and bool(row["partial_sick_leave"]) is False
    assert row["form_received"] == pd.Timestamp("2026-11-16")


@pytest.mark.parametrize(
    ("spelling", "code", "group"),
    [("M54.5", "M54.5", "musculoskeletal"), ("M545", "M54.5", "musculoskeletal"),
     ("DM545", "M54.5", "musculoskeletal"), ("dm54.5", "M54.5", "musculoskeletal"),
     (" F32.1 ", "F32.1", "mental"), ("DF432", "F43.2", "mental"), ("C50.9", "C50.9", "cancer"),
     ("S82.0", "S82.0", "injury"), ("I21.9", "I21.9", "cardiovascular"), ("J45", "J45", "respiratory"),
     ("O26.8", "O26.8", "pregnancy"), ("R53", "R53", "other"), ("DD509", "D50.9", "other")],
)
def test_icd10_spellings_are_normalised_and_grouped(forms_file, spelling, code, group):
    result = validate_file(forms_file([form(diagnosis_code=spelling)]))
    assert result.refused.empty, result.refused
    assert result.valid["diagnosis_code"].iloc[0] == code
    assert result.valid["diagnosis_group"].iloc[0] == group


@pytest.mark.parametrize("spelling", ["Z99.99", "M54.59X", "XIII", "M50-M54", "12345", "DDX"])
def test_invalid_icd10_codes_are_refused(forms_file, spelling):
    result = validate_file(forms_file([form(diagnosis_code=spelling)]), language="en")
    refused = refusals(result, "diagnosis_code")
    assert refused["kind"].tolist() == ["invalid_icd10"]
    assert "ICD-10" in refused["reason"].iloc[0]


def test_a_code_decides_the_group_when_both_are_given(forms_file):
    result = validate_file(forms_file([form(diagnosis_code="F32.1", diagnosis_group="injury")]))
    assert result.valid["diagnosis_group"].iloc[0] == "mental"
    assert result.notes["diagnosis_group_taken_from_code"] == 1


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [("age", "15", "out_of_range"), ("age", "76", "out_of_range"), ("age", "45.5", "not_whole"),
     ("age", "fyrre", "not_a_number"), ("age", "inf", "not_finite"), ("age", "nan", "not_a_number"),
     ("age", None, "missing_required"), ("physical_load", "6", "unknown_code"),
     ("physical_load", None, "missing_required"), ("sex", "Q", "unknown_code"),
     ("weekly_hours", "0", "out_of_range"), ("weekly_hours", "81", "out_of_range"),
     ("work_ability", "11", "out_of_range"), ("prior_sick_weeks_12m", "-1", "out_of_range"),
     ("employment_status", "retired", "unknown_code"), ("expected_return", "soon", "unknown_code"),
     ("treatment", "magic", "unknown_code"), ("partial_sick_leave", "maybe", "not_yes_no"),
     ("form_received", "2026-02-30", "impossible_date"), ("form_received", "31.13.2026", "impossible_date"),
     ("form_received", "16 november", "not_a_date"), ("form_received", "2026/11/16", "not_a_date"),
     ("form_received", "1899-01-01", "implausible_date"), ("case_id", "bad id!", "bad_identifier"),
     ("case_id", "x" * 65, "bad_identifier"), ("case_id", None, "missing_required"),
     ("jobcenter", "x" * 201, "too_long"), ("jobcenter", "Aar\x07hus", "control_characters"),
     ("diagnosis_group", "flu", "unknown_code")],
)
def test_bad_values_are_refused_with_column_value_and_reason(forms_file, column, value, kind):
    result = validate_file(forms_file([form(**{column: value}), form(case_id="OK-2")]), language="en")
    assert result.valid.index.tolist() == [3]
    refused = refusals(result, column)
    assert refused["kind"].tolist() == [kind]
    assert refused["row"].tolist() == [2]
    assert refused["reason"].iloc[0]
    assert_accounted(result)


@pytest.mark.parametrize(
    "spelling",
    ["2026-11-16 00:00:00", "2026-11-16T00:00:00", "2026-11-16T08:30", "2026-11-16 23:59:59.999",
     "2026-11-16T00:00:00Z", "2026-11-16T00:00:00+01:00", "16-11-2026 00:00", "16.11.2026 08:15:00"],
)
def test_a_date_time_is_read_as_its_day(forms_file, spelling):
    """Case systems export dates as date-times; the day is what the contract asks for."""
    result = validate_file(forms_file([form(form_received=spelling, sick_weeks=None)]))
    assert result.refused.empty, result.refused
    assert result.valid["form_received"].iloc[0] == pd.Timestamp("2026-11-16")
    assert result.valid["sick_weeks"].iloc[0] == 4.0  # derived from the day, not the time


@pytest.mark.parametrize(("spelling", "kind"), [("2026-11-16 25:00", "not_a_date"), ("2026-11-16T", "not_a_date"),
                                                ("2026-11-16 00:00:00 extra", "not_a_date"),
                                                ("2026-02-30 00:00:00", "impossible_date")])
def test_a_date_time_with_no_valid_day_or_time_is_refused(forms_file, spelling, kind):
    result = validate_file(forms_file([form(form_received=spelling)]), language="en")
    assert refusals(result, "form_received")["kind"].tolist() == [kind]


@pytest.mark.parametrize(
    ("label", "column", "expected"),
    [("K", "sex", "F"), ("kvinde", "sex", "F"), ("mand", "sex", "M"), ("m", "sex", "M"),
     ("stillesiddende", "physical_load", 1), ("let", "physical_load", 2), ("middel", "physical_load", 3),
     ("HÅRD", "physical_load", 4), ("ja", "employer_contact", True), ("Nej", "employer_contact", False),
     ("1", "employer_contact", True), ("false", "employer_contact", False),
     ("Over 13 weeks", "expected_return", "over_13_weeks"), ("ansat", "employment_status", "employed")],
)
def test_danish_labels_are_accepted_and_normalised(forms_file, label, column, expected):
    result = validate_file(forms_file([form(**{column: label})]))
    assert result.refused.empty, result.refused
    assert result.valid[column].iloc[0] == expected


# As typed, with a space, and as Excel keeps it when it reads the number as a number (day 1-9: no leading zero).
@pytest.mark.parametrize("cpr", ["120345-1234", "1203451234", "120345 1234", "203451234"])
@pytest.mark.parametrize("column", ["case_id", "jobcenter", "diagnosis_code", "age", "sick_weeks"])
def test_cpr_numbers_are_refused_and_never_echoed(forms_file, tmp_path, cpr, column):
    result = validate_file(forms_file([form(**{column: cpr})]))
    assert result.valid.empty
    shown = result.refused.to_csv()
    digits = cpr.replace("-", "").replace(" ", "")
    assert cpr not in shown and digits not in shown and digits[-9:] not in shown
    assert "******-****" in shown
    assert refusals(result, column)["kind"].tolist() == ["cpr_shaped"]


@pytest.mark.parametrize("value", ["123456789", "SIM-0165468", "12345678", "20261127", "K-2026-11-27-001"])
def test_ids_and_numbers_unlike_a_cpr_number_pass(forms_file, value):
    """Nine digits pass unless a day 1-9 and a month come first; eight (a phone number, a date) always pass."""
    result = validate_file(forms_file([form(case_id=value)]))
    assert result.refused.empty and result.valid["case_id"].tolist() == [value]


def test_duplicated_case_ids_refuse_every_copy(forms_file):
    result = validate_file(forms_file([form(case_id="A"), form(case_id="B"), form(case_id="A")]))
    assert result.valid.index.tolist() == [3]
    assert refusals(result, "case_id")["row"].tolist() == [2, 4]
    assert set(refusals(result, "case_id")["kind"]) == {"duplicate_case_id"}


def test_sick_weeks_is_derived_from_the_dates_when_absent(forms_file):
    result = validate_file(forms_file([form(sick_weeks=None, sick_leave_start="01.11.2026", form_received="15-11-2026")]))
    assert result.valid["sick_weeks"].iloc[0] == 2.0


def test_inconsistent_dates_are_refused(forms_file):
    rows = [
        form(case_id="late", sick_leave_start="2026-12-01", form_received="2026-11-16", sick_weeks=None),
        form(case_id="odd", sick_weeks="10", sick_leave_start="2026-11-01", form_received="2026-11-15"),
        form(case_id="none", sick_weeks=None, sick_leave_start=None),
    ]
    result = validate_file(forms_file(rows), language="en")
    assert result.valid.empty
    kinds = dict(zip(result.refused["row"], result.refused["kind"]))
    assert kinds == {2: "start_after_received", 3: "weeks_disagree_with_dates", 4: "cannot_derive_weeks"}
    assert "2 weeks" in result.refused.loc[result.refused["row"] == 3, "reason"].iloc[0]


def test_several_reasons_per_row_are_all_listed(forms_file):
    result = validate_file(forms_file([form(age="200", sex="?", physical_load="x")]))
    assert sorted(result.refused["column"]) == ["age", "physical_load", "sex"]
    assert result.refused_rows == 1


def test_header_names_match_after_trimming_and_case_folding(forms_file):
    rows = [form()]
    header = [f"  {name.upper()} " for name in rows[0]] + ["Notes"]
    text_rows = [{f"  {k.upper()} ": v for k, v in row.items()} | {"Notes": "x"} for row in rows]
    result = validate_file(forms_file(text_rows, header=header))
    assert len(result.valid) == 1
    assert result.ignored_columns == ["Notes"]


def test_optional_columns_may_be_absent(forms_file):
    rows = [{"case_id": "A", "age": "30", "physical_load": "2", "sick_weeks": "3"}]
    result = validate_file(forms_file(rows))
    assert len(result.valid) == 1 and result.valid["diagnosis_group"].isna().all()


@pytest.mark.parametrize(
    ("header", "message"),
    [(["case_id", "age", "sick_weeks"], "physical_load"), (["case_id", "age", "physical_load"], "sick_weeks or sick_leave_start"),
     (["case_id", "age", "AGE", "physical_load", "sick_weeks"], "appears twice")],
)
def test_header_problems_stop_the_run(forms_file, header, message):
    with pytest.raises(FileError, match=message):
        validate_file(forms_file([{name: "1" for name in header}], header=header))


def rename(row: dict[str, str], old: str, new: str) -> dict[str, str]:
    return {(new if name == old else name): value for name, value in row.items()}


@pytest.mark.parametrize(("given", "suggested"), [("work_abilty", "work_ability"), ("employer_contakt", "employer_contact"),
                                                  (" treatmnet ", "treatment")])
def test_a_misspelt_column_stops_the_run_and_names_the_column_it_was_meant_to_be(forms_file, given, suggested):
    """A misspelt (or Danish-labelled) column was ignored and its answers scored as blank on every form: the
    week's risks and reasons changed without a word (a user's report). Now the header is refused, with the fix."""
    path = forms_file([rename(form(), suggested, given)])
    with pytest.raises(FileError) as stopped:
        validate_file(path)
    assert stopped.value.kind == "misspelt_columns"
    assert f"'{given.strip()}' (mente du {suggested}," in stopped.value.text("da")
    assert f"(did you mean {suggested}?)" in stopped.value.text("en")


def test_a_column_under_its_danish_label_is_refused_naming_the_code_to_use(forms_file):
    """A user found "filen har 'alder' (mente du age, alder?)" circular: it names the Danish label it refuses."""
    with pytest.raises(FileError) as stopped:
        validate_file(forms_file([rename(form(), "work_ability", "Arbejdsevne")]))
    assert stopped.value.kind == "misspelt_columns"
    assert "'Arbejdsevne' (feltets danske navn; overskriften skal bruge koden work_ability)" in stopped.value.text("da")
    assert "'Arbejdsevne' (the field's Danish label; the header must use the code work_ability)" in stopped.value.text(
        "en")
    with pytest.raises(FileError) as stopped:
        validate_file(forms_file([rename(form(), "age", "alder")]))
    assert "age (alder); filen har 'alder' (feltets danske navn; overskriften skal bruge koden age)" in (
        stopped.value.text("da"))


def test_an_unknown_column_like_no_missing_one_is_still_passed_over(forms_file):
    """Extra columns a case system adds (and one like a column the file has) are ignored, as before."""
    row = form() | {"sagsbehandler": "x", "work_ability_note": "y", "age2": "3"}
    result = validate_file(forms_file([row]))
    assert len(result.valid) == 1 and set(result.ignored_columns) == {"sagsbehandler", "work_ability_note", "age2"}
    row = {name: value for name, value in form().items() if name != "weekly_hours"} | {"weekly_hours_note": "z"}
    assert validate_file(forms_file([row])).ignored_columns == ["weekly_hours_note"]  # a column of its own


def test_a_misspelt_required_column_is_named_beside_the_missing_one(forms_file):
    with pytest.raises(FileError) as stopped:
        validate_file(forms_file([rename(form(), "age", "agee")]))
    assert stopped.value.kind == "missing_columns"
    assert "age (alder); filen har 'agee' (mente du age, alder?)" in stopped.value.text("da")


@pytest.mark.parametrize("separator", ["#", " ", "/"])
def test_a_header_read_as_one_column_says_its_separator_was_not_recognised(tmp_path, separator):
    header = ["case_id", "010190-1234", "age", "physical_load", "sick_weeks"]
    path = tmp_path / "week.csv"
    path.write_text(separator.join(header) + "\n" + separator.join(["A", "1", "30", "2", "3"]) + "\n", encoding="utf-8")
    with pytest.raises(FileError) as stopped:
        validate_file(path)
    assert stopped.value.kind == "one_column_header"
    text = stopped.value.text("da")
    assert "skilletegnet blev ikke genkendt" in text and "010190-1234" not in text and "case_id" in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.text(min_size=0, max_size=3), cpr=st.sampled_from(["010190-1234", "0101901234", "010190 1234"]))
def test_no_header_error_shows_a_cpr_number(forms_file, noise, cpr):
    """Whatever unknown names a header holds, near a contract column or glued to it, the error masks CPR numbers."""
    for header in (["case_id", "age", "sick_weeks", "physical_load", f"work_ability{noise}{cpr}"],
                   ["case_id", f"agee{cpr}", "sick_weeks", "physical_load"],
                   [f"case_id#{cpr}#age#{noise}"]):
        try:
            validate_file(forms_file([{name: "1" for name in header}], header=header))
        except FileError as error:
            assert cpr not in error.text("da") and cpr not in error.text("en") and cpr not in str(error)


def test_training_extension_requires_and_checks_outcomes(forms_file):
    rows = [form(case_id="a") | {"absence_weeks": "20,5", "spell_ended": "ja"},
            form(case_id="b") | {"absence_weeks": "2", "spell_ended": "nej"},
            form(case_id="c") | {"absence_weeks": "-1", "spell_ended": "kanske"}]
    result = validate_file(forms_file(rows), training=True)
    assert result.valid["absence_weeks"].tolist() == [20.5]
    assert bool(result.valid["spell_ended"].iloc[0]) is True
    assert set(result.refused["kind"]) == {"absence_shorter_than_form", "not_yes_no"}
    with pytest.raises(FileError, match="absence_weeks"):
        validate_file(forms_file([form()]), training=True)


def test_reasons_are_danish_by_default_and_english_on_request(forms_file):
    path = forms_file([form(age="99")])
    assert validate_file(path).refused["reason"].iloc[0] == "uden for intervallet 16–75"
    assert validate_file(path, language="en").refused["reason"].iloc[0] == "outside the range 16–75"


def test_blank_rows_are_skipped_and_counted(forms_file):
    result = validate_file(forms_file([form(case_id="A"), {name: "" for name in form()}, form(case_id="B")]))
    assert result.valid.index.tolist() == [2, 4]
    assert result.blank_rows == 1 and result.rows_read == 2


def test_a_repeated_id_is_refused_as_a_duplicate_even_when_also_malformed(forms_file):
    rows = [form(case_id="bad id!"), form(case_id="bad id!"), form(case_id="also bad!"), form(case_id="ok")]
    result = validate_file(forms_file(rows), language="en")
    kinds = dict(zip(result.refused["row"], result.refused["kind"]))
    assert kinds == {2: "duplicate_case_id", 3: "duplicate_case_id", 4: "bad_identifier"}


def test_weeks_derived_from_the_dates_are_shown_when_out_of_range(forms_file):
    rows = [form(sick_weeks=None, sick_leave_start="2020-01-01", form_received="2026-11-16")]
    refused = validate_file(forms_file(rows), language="en").refused
    assert refused[["column", "value", "kind"]].values.tolist() == [["sick_weeks", "358.7", "out_of_range"]]


def test_big_tables_worked_on_by_two_threads_give_the_same_outcome(forms_file, monkeypatch):
    from screening.intake import read_table, validate_table
    from screening.intake import _validate

    rows = [form(case_id=f"T-{i % 40}", age=str(10 + i % 80), sex=["F", "k", "?", ""][i % 4],
                 jobcenter=["Køge", " Aarhus ", "1203451234", None][i % 4], sick_weeks=[None, "4", "60"][i % 3],
                 diagnosis_code=["M54.5", "Z99.99", "DF432", None][i % 4], diagnosis_group=["injury", "flu", None][i % 3])
            for i in range(300)]
    raw = read_table(forms_file(rows))
    alone = validate_table(raw)
    monkeypatch.setattr(_validate, "PARALLEL_ROWS", 0)
    together = validate_table(raw)
    pd.testing.assert_frame_equal(alone.valid, together.valid, check_exact=True)
    pd.testing.assert_frame_equal(alone.refused, together.refused, check_exact=True)
    assert alone.notes == together.notes and len(alone.refused) > 100


def test_prepare_validation_leaves_the_first_table_no_imports(forms_file):
    """What forked workers share: after ``prepare_validation`` the first validation imports nothing more
    (pandera's backends, the ICD-10 classification); in a fresh interpreter, as a worker's parent is."""
    import subprocess
    import sys

    path = forms_file([form(case_id=f"C-{k}", diagnosis_code=code) for k, code in enumerate(["M54.5", "F32.1"])])
    code = (
        "import sys\n"
        "from screening.intake import prepare_validation, read_table, validate_table\n"
        "table = read_table(sys.argv[1])\n"
        "prepare_validation()\n"
        "before = set(sys.modules)\n"
        "result = validate_table(table)\n"
        "assert len(result.valid) == 2, result.refused\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"

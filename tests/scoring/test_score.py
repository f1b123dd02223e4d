"""The library: every form scored or refused, the same risks from every file format, the same bytes on every run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from screening.intake import read_table
from screening.scoring import RefusedFormError, Score
from screening.scoring._output import csv_bytes, ranked_bytes, ranked_columns
from screening.synthetic import write_forms
from tests.conftest import form
from tests.scoring.conftest import MODEL_VERSION


def test_every_form_is_scored_or_refused(week, week_result):
    summary = week_result.summary
    assert summary["rows_read"] == len(week) == summary["scored"] + summary["refused"]
    assert summary["refused"] > 0 and len(week_result.ranked) == summary["scored"]
    refused_ids = set(week_result.refused["case_id"])
    assert not refused_ids & set(week_result.ranked["case_id"])
    assert set(week_result.ranked["model_version"]) == {MODEL_VERSION}


def test_ranked_columns_are_the_contracts(week_result):
    assert week_result.ranked.columns.tolist() == [
        "rank", "case_id", "jobcenter", "queue", "horizon", "risk", "risk_8", "risk_22", "risk_52", "priority",
        "contact_this_week", "reasons", "questions", "model_version"]
    early = week_result.ranked[week_result.ranked["queue"] == "early"]
    risks = early[["risk_8", "risk", "risk_22", "risk_52"]].to_numpy()
    assert ((0 <= risks) & (risks <= 1)).all()
    assert (np.diff(risks, axis=1) <= 0).all()  # a longer absence is never more likely than a shorter one


def test_without_a_jobcenter_column_there_is_none_in_the_list(model, week):
    ranked = model.score(week.drop(columns="jobcenter")).ranked
    assert "jobcenter" not in ranked.columns


@pytest.fixture(scope="module")
def formats(tmp_path_factory, week):
    folder = tmp_path_factory.mktemp("formats")
    paths = {}
    for name, suffix, dialect in (("standard", ".csv", "standard"), ("danish_excel", ".csv", "danish_excel"),
                                  ("xlsx", ".xlsx", "standard"), ("parquet", ".parquet", "standard")):
        paths[name] = folder / f"week_{name}{suffix}"
        write_forms(week, paths[name], dialect=dialect)
    return paths


def test_the_four_formats_give_identical_lists(model, formats):
    lists = {}
    for name, path in formats.items():
        lists[name] = ranked_bytes(model.score_table(read_table(path)).ranked)
    assert len(set(lists.values())) == 1, {name: len(content) for name, content in lists.items()}
    assert lists["standard"].count(b"\n") > 1000


def test_scoring_twice_gives_the_same_bytes(model, week):
    first = ranked_bytes(model.score(week, capacity=5, per="jobcenter").ranked)
    second = ranked_bytes(model.score(week, capacity=5, per="jobcenter").ranked)
    assert first == second


def test_the_file_is_the_same_whatever_the_chunk_size(week_result, monkeypatch):
    from screening.scoring import _output

    whole = ranked_bytes(week_result.ranked)
    assert whole == csv_bytes(ranked_columns(week_result.ranked))
    monkeypatch.setattr(_output, "WRITE_CHUNK", 97)
    assert ranked_bytes(week_result.ranked) == whole
    assert len(whole.splitlines()) == len(week_result.ranked) + 1


def test_reasons_are_the_same_whatever_the_chunk_size(model, week, week_result, monkeypatch):
    from screening.scoring import _reasons

    monkeypatch.setattr(_reasons, "TEXT_CHUNK", 101)
    assert model.score(week).ranked["reasons"].tolist() == week_result.ranked["reasons"].tolist()


def test_reasons_and_questions_are_the_same_explained_a_block_at_a_time(model, week, week_result, monkeypatch):
    from screening.scoring import _reasons

    expected = week_result.ranked[["case_id", "reasons", "questions"]]
    assert expected["reasons"].str.len().gt(0).mean() > 0.5 and expected["questions"].str.len().gt(0).any()
    for block in (1, 7, 250):
        monkeypatch.setattr(_reasons, "EXPLAIN_BLOCK", block)
        pd.testing.assert_frame_equal(model.score(week).ranked[["case_id", "reasons", "questions"]], expected)


def test_typed_values_score_like_their_text(model, week):
    typed = week.copy().iloc[:300]
    valid = typed["age"].str.fullmatch(r"\d+").fillna(False)
    typed = typed[valid]
    as_numbers = typed.assign(age=typed["age"].astype("int64"))
    text_risks = model.score(typed).ranked.set_index("case_id")["risk"]
    number_risks = model.score(as_numbers).ranked.set_index("case_id")["risk"]
    pd.testing.assert_series_equal(text_risks.sort_index(), number_risks.sort_index())


def test_score_one_equals_the_batch(model, week, week_result):
    ranked = week_result.ranked.set_index("case_id")
    checked = 0
    for row in week.head(300).to_dict("records"):
        values = {key: None if value is None or value != value else value for key, value in row.items()}
        try:
            score = model.score_one(values)
        except RefusedFormError:
            continue
        if score.case_id not in ranked.index:  # a duplicated case_id: valid alone, refused in the file
            continue
        batch = ranked.loc[score.case_id]
        assert (score.risk, score.risks[8], score.risks[22], score.risks[52]) == (
            batch["risk"], batch["risk_8"], batch["risk_22"], batch["risk_52"])
        assert score.priority == batch["priority"]
        assert score.reasons_text == batch["reasons"]
        checked += 1
    assert checked > 250


def test_score_one_gives_risk_priority_and_reasons(model):
    score = model.score_one(form(case_id="K-1", expected_return="over_13_weeks", work_ability="2"))
    assert isinstance(score, Score)
    assert score.case_id == "K-1" and score.model_version == MODEL_VERSION
    assert set(score.risks) == {8, 13, 22, 52} and score.risk == score.risks[13]
    assert score.priority in ("high", "medium", "low")
    assert any(reason.direction == "up" and reason.group == "expected_return" for reason in score.reasons)
    assert score.reasons_text.startswith("↑ ")


def test_score_one_accepts_typed_values_and_any_key_case(model):
    import datetime as dt

    text = model.score_one(form(case_id="K-2"))
    typed = form(case_id="K-2")
    typed.update(AGE=45, physical_load=4, form_received=dt.date(2026, 11, 16), sick_leave_start=pd.Timestamp("2026-10-19"),
                 partial_sick_leave=False, employer_contact=True, weekly_hours=37.0)
    del typed["age"]
    assert model.score_one(typed).risks == text.risks


def test_a_refused_form_raises_with_the_reasons(model):
    with pytest.raises(RefusedFormError) as caught:
        model.score_one(form(case_id="K-3", age="fyrre", sex="?"))
    reasons = {reason["column"]: reason for reason in caught.value.reasons}
    assert set(reasons) == {"age", "sex"}
    assert reasons["age"]["kind"] == "not_a_number" and reasons["age"]["reason"] == "ikke et tal"
    with pytest.raises(RefusedFormError) as caught:
        model.score_one(form(case_id="K-3", age="fyrre"), language="en")
    assert caught.value.reasons[0]["reason"] == "not a number"
    assert str(caught.value) == "form K-3 refused: age: not a number"


def test_a_refused_forms_text_is_in_the_language_of_its_reasons(model):
    """It began in English ("form K-3 refused:") before a Danish reason (a user's report)."""
    with pytest.raises(RefusedFormError) as caught:
        model.score_one(form(case_id="K-3", age="fyrre"))
    assert str(caught.value) == "skema K-3 afvist: age: ikke et tal"
    with pytest.raises(RefusedFormError) as caught:
        model.score_one({**form(case_id="K-4"), "work_abilty": "5"})
    assert str(caught.value).startswith("skema K-4 afvist: work_abilty: ") and "mente du work_ability?" in str(caught.value)


def test_a_cpr_number_is_refused_and_never_repeated(model):
    with pytest.raises(RefusedFormError) as caught:
        model.score_one(form(case_id="010203-1234"))
    assert "010203-1234" not in str(caught.value) and "010203-1234" not in repr(caught.value.reasons)
    assert caught.value.reasons[0]["kind"] == "cpr_shaped"


def test_score_one_refuses_an_unknown_key_and_names_the_nearest_field(model):
    """A misspelt key would be a blank answer and another risk: the form is refused, saying which key."""
    values = form(case_id="K-5", work_ability="2")
    misspelt = {("work_abilty" if key == "work_ability" else key): value for key, value in values.items()}
    with pytest.raises(RefusedFormError) as caught:
        model.score_one(misspelt, language="en")
    assert [(reason["column"], reason["kind"]) for reason in caught.value.reasons] == [("work_abilty", "unknown_field")]
    assert "work_ability" in caught.value.reasons[0]["reason"] and "work_abilty" in str(caught.value)
    with pytest.raises(RefusedFormError) as caught:
        model.score_one({**values, "favourite_colour": "blå"})
    assert caught.value.reasons[0]["kind"] == "unknown_field" and "favourite_colour" in str(caught.value)
    assert "kontrakten" in caught.value.reasons[0]["reason"]  # Danish by default


def test_an_unknown_key_and_the_forms_other_mistakes_are_told_at_once(model):
    """A form with a misspelt key and a CPR number as its case_id was refused for the misspelling only; mended,
    it came back refused for the CPR number (a user's report). Both are told at once, the id never shown."""
    values = form(case_id="010203-1234", age="fyrre")
    with pytest.raises(RefusedFormError) as caught:
        model.score_one({**values, "work_abilty": "2"}, language="en")
    told = [(reason["column"], reason["kind"]) for reason in caught.value.reasons]
    assert told[0] == ("work_abilty", "unknown_field")
    assert sorted(told[1:]) == [("age", "not_a_number"), ("case_id", "cpr_shaped")]
    assert "010203-1234" not in str(caught.value) and "010203-1234" not in repr(caught.value.reasons)
    with pytest.raises(RefusedFormError) as mended:
        model.score_one(values, language="en")
    assert caught.value.reasons[1:] == mended.value.reasons
    with pytest.raises(RefusedFormError) as alone:  # nothing else wrong: the misspelling alone
        model.score_one({**form(case_id="K-8"), "work_abilty": "2"}, language="en")
    assert [reason["kind"] for reason in alone.value.reasons] == ["unknown_field"]


def test_score_one_passes_over_unknown_keys_when_asked(model):
    values = form(case_id="K-6", work_ability="2")
    without = {key: value for key, value in values.items() if key != "work_ability"}
    lenient = model.score_one({**without, "work_abilty": "2"}, ignore_unknown=True)
    assert lenient.risks == model.score_one(without).risks != model.score_one(values).risks


def test_an_unknown_key_shaped_like_a_cpr_number_is_not_repeated(model):
    with pytest.raises(RefusedFormError) as caught:
        model.score_one({**form(case_id="K-7"), "010203-1234": "x"})
    assert "010203-1234" not in str(caught.value) and "010203-1234" not in repr(caught.value.reasons)


@pytest.mark.parametrize("received", ["2026-11-16 00:00:00", "2026-11-16T00:00:00", "16-11-2026 00:00"])
def test_score_one_reads_a_date_time_as_its_day(model, received):
    import datetime as dt

    day = model.score_one(form(case_id="K-8", sick_weeks=None))
    assert model.score_one(form(case_id="K-8", sick_weeks=None, form_received=received)).risks == day.risks
    for value in (dt.datetime(2026, 11, 16, 0, 0), dt.datetime(2026, 11, 16, 14, 5), pd.Timestamp("2026-11-16 09:00"),
                  dt.date(2026, 11, 16)):
        typed = {**form(case_id="K-8", sick_weeks=None), "form_received": value}
        assert model.score_one(typed).risks == day.risks


def test_a_float_is_read_as_the_text_a_file_holds(model):
    """40.0 from a case system's JSON is "40" alone, in a typed column and in a mixed one: one rule."""
    values = form(case_id="K-9", weekly_hours=None)
    with pytest.raises(RefusedFormError) as caught:
        model.score_one({**values, "weekly_hours": 90.0})
    assert [(r["column"], r["value"]) for r in caught.value.reasons] == [("weekly_hours", "90")]
    typed = pd.DataFrame([values, {**values, "case_id": "K-10"}]).assign(weekly_hours=[90.0, 37.5])
    mixed = typed.assign(weekly_hours=pd.Series([90.0, "37,5"], dtype=object))
    for forms in (typed, mixed):
        result = model.score(forms)
        assert result.refused[["case_id", "column", "value"]].values.tolist() == [["K-9", "weekly_hours", "90"]]
        assert result.ranked["case_id"].tolist() == ["K-10"]


def test_score_one_treats_a_missing_field_as_blank(model):
    values = form(case_id="K-4")
    del values["age"]
    with pytest.raises(RefusedFormError) as caught:
        model.score_one(values)
    assert [reason["kind"] for reason in caught.value.reasons] == ["missing_required"]
    with pytest.raises(RefusedFormError):
        model.score_one({})
    with pytest.raises(TypeError):
        model.score_one(["not", "a", "mapping"])


def test_an_empty_week_gives_an_empty_list(model):
    from tests.conftest import HEADER

    result = model.score(pd.DataFrame({name: pd.Series(dtype="str") for name in HEADER}))
    assert len(result.ranked) == 0 and result.summary["rows_read"] == 0
    assert ranked_bytes(result.ranked).decode() == (
        "rank,case_id,jobcenter,queue,horizon,risk,risk_8,risk_22,risk_52,priority,contact_this_week,reasons,questions,model_version\n")


def test_drift_is_measured_against_the_models_reference(week_result):
    drift = week_result.drift
    assert drift is not None and {"age", "expected_return", "physical_load"} <= set(drift["input"])
    assert (drift["psi"] < 0.25).all()  # the same simulator as the training data


def test_importing_the_package_and_scoring_load_neither_mlflow_nor_matplotlib(model_dir):
    code = (
        "import sys, screening, screening.scoring as s\n"
        f"m = s.load_model({str(model_dir)!r})\n"
        "from tests.conftest import form\n"
        "m.score_one(form(case_id='A'))\n"
        "import pandas as pd\n"
        "m.score(pd.DataFrame([form(case_id='B')]))\n"
        "bad = [name for name in ('mlflow', 'matplotlib') if name in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_importing_scoring_is_light():
    code = ("import sys, screening.scoring\n"
            "heavy = [m for m in ('pandas', 'sklearn', 'pandera', 'mlflow', 'matplotlib') if m in sys.modules]\n"
            "assert not heavy, heavy")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_an_mlflow_uri_is_resolved_by_the_registry(model_dir, monkeypatch):
    import screening.registry
    from screening.scoring import load_model

    asked = []
    monkeypatch.setattr(screening.registry, "resolve_model_uri", lambda uri: asked.append(uri) or model_dir)
    assert load_model("models:/screening@champion").version == MODEL_VERSION
    assert asked == ["models:/screening@champion"]
    assert load_model(model_dir.as_uri()).version == MODEL_VERSION  # file: URLs are plain directories
    assert asked == ["models:/screening@champion"]


def test_a_damaged_model_directory_is_refused(model_dir, tmp_path):
    import shutil

    from screening.registry._files import ModelFileError
    from screening.scoring import load_model

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    (copy / "model_card.md").write_text("changed")
    with pytest.raises(ModelFileError, match="changed"):
        load_model(copy)

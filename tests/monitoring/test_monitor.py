"""Monitoring: per period of receipt, an alarm on intervals that fires where the population shifted and not before."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from screening.monitoring import monitor, simulate_year
from tests.monitoring.conftest import N_BOOT, SHIFT, case_ids, year_file


def test_a_stable_year_raises_no_alarm(stable):
    periods = stable.periods
    assert stable.flagged_periods == [] and not stable.retrain_advised and stable.exit_code == 0
    judged = periods[periods["status"] == "ok"]
    assert len(judged) == 12 and list(judged.index[:2]) == ["2027-01", "2027-02"]
    # The figures are real ones: observed and predicted near the simulator's 33 %, intervals around them.
    assert judged["observed_rate"].between(0.25, 0.42).all() and judged["mean_risk"].between(0.25, 0.42).all()
    assert (judged["calibration_in_the_large_low"] < judged["calibration_in_the_large"]).all()
    assert (judged["calibration_in_the_large"] < judged["calibration_in_the_large_high"]).all()
    assert (judged["auc_low"] < judged["auc"]).all() and judged["auc"].between(0.7, 0.9).all()
    assert judged["forms"].between(700, 820).all() and (judged["effective_forms_13"] > 600).all()
    assert "Ingen genoptræning" not in stable.advice("da")  # the verdict is the page's; the advice says why
    assert "ikke ud af kalibrering" in stable.advice("da") or "ikke tyder" in stable.advice("da") \
        or "Intet tyder" in stable.advice("da")
    assert "Nothing says the model has drifted" in stable.advice("en")


def test_slower_returns_from_july_are_flagged_from_july_and_not_before(shifted):
    flagged = shifted.flagged_periods
    assert flagged and flagged[0] in ("2027-07", "2027-08")  # within two months of the shift
    assert all(period >= "2027-07" for period in flagged)  # and never before it
    assert set(shifted.periods.loc[flagged, "direction"]) == {"under"}  # the risks are too low
    assert shifted.retrain_advised and shifted.exit_code == 1
    before = shifted.periods.loc["2027-01":"2027-06"]
    assert (before["status"] == "ok").all() and before["calibration_in_the_large"].abs().max() < 0.04
    after = shifted.periods.loc["2027-07":"2027-12"]
    assert (after["calibration_in_the_large"] < -SHIFT / 2).all()
    advice = shifted.advice("en")
    assert advice.startswith(f"In {len(flagged)} of 12 periods") and "below the observed rate" in advice
    assert "retrain" in advice.lower() and "Danish" not in advice
    assert "Træn modellen igen" in shifted.advice("da")


def test_the_alarm_is_on_the_interval_not_the_point_estimate(monitored_model_dir, stable_file):
    """With no tolerance at all every point estimate is "beyond" it: a period is flagged only if its interval excludes 0."""
    result = monitor(monitored_model_dir, stable_file, tolerance=0.0, subgroups=(), n_boot=N_BOOT)
    periods = result.periods[result.periods["status"].isin(["ok", "flagged"])]
    excludes_zero = (periods["calibration_in_the_large_low"] > 0) | (periods["calibration_in_the_large_high"] < 0)
    assert ((periods["status"] == "flagged") == excludes_zero).all()
    assert (periods.loc[~excludes_zero, "calibration_in_the_large"] != 0).all() and (~excludes_zero).sum() >= 3


def test_periods_that_cannot_show_the_outcome_yet_are_not_judged(monitored_model_dir, tmp_path):
    """An extract taken days after the year: December's forms cannot have reached 13 weeks (bar a few late ones)."""
    early = year_file(tmp_path, seed=3, shift=SHIFT, extraction_date=dt.date(2028, 1, 5))
    result = monitor(monitored_model_dir, early, subgroups=(), n_boot=N_BOOT)
    status = result.periods["status"]
    assert status["2027-12"] == "not_evaluable" and status["2027-01"] == "ok"
    assert result.periods.loc["2027-12", "effective_forms_13"] < 100 < result.periods.loc["2027-12", "forms"]
    assert "cannot evaluate at 13 weeks" in result.periods.loc["2027-12", "reason"]
    assert "2027-12" not in result.flagged_periods
    assert "cannot be judged yet" in result.advice("en") and "2028-01-05" in result.advice("en")


def test_nothing_to_judge_is_an_error_not_an_all_clear(monitored_model_dir, tmp_path):
    year = simulate_year(300, seed=4, months=2, extraction_date=dt.date(2027, 3, 1))
    path = tmp_path / "fresh.csv"
    year.forms.to_csv(path, index=False)
    with pytest.raises(ValueError, match="no month can be evaluated at 13 weeks") as error:
        monitor(monitored_model_dir, path, subgroups=(), n_boot=10)
    assert "\n" not in str(error.value)


def test_quarters_and_the_horizon(monitored_model_dir, shifted_file):
    result = monitor(monitored_model_dir, shifted_file, by="quarter", subgroups=(), n_boot=N_BOOT)
    assert list(result.periods.index) == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"] or \
        list(result.periods.index)[-4:] == ["2027-Q1", "2027-Q2", "2027-Q3", "2027-Q4"]
    assert set(result.flagged_periods) == {"2027-Q3", "2027-Q4"}
    assert result.periods.loc["2027-Q3", "forms"] > 2000
    assert {f"effective_forms_{h}" for h in (8, 13, 22, 52)} <= set(result.periods.columns)
    with pytest.raises(ValueError, match="by must be one of"):
        monitor(monitored_model_dir, shifted_file, by="week")


def test_subgroups_below_the_minimum_are_suppressed(shifted):
    groups = shifted.subgroups
    assert {"sex", "age_band", "diagnosis_group", "jobcenter"} <= set(groups.index.get_level_values("attribute"))
    small = groups[groups["status"] == "too_small"]
    assert len(small) > 0 and shifted.facts["subgroups_suppressed"] == len(small)
    figures = ["effective_forms", "observed_rate", "mean_risk", "calibration_in_the_large", "auc"]
    assert small[figures].isna().all().all() and not small["flagged"].any()
    shown = groups[groups["status"] == "ok"]
    assert (shown["effective_forms"] >= shifted.facts["min_group"]).all()
    # The shift shows in the subgroups after July; before it, among ~130 group-months checked, a flag is rare
    # chance (or a small model's own bias in one group): reported, but not what decides the advice.
    flagged = shifted.flagged_subgroups
    after = flagged.index.get_level_values("period") >= "2027-07"
    assert after.sum() >= 10 and (~after).sum() <= 2
    assert set(flagged.loc[after, "direction"]) == {"under"}


def test_the_result_holds_counts_and_rates_only(shifted, shifted_file):
    text = json.dumps(shifted.to_dict(), default=str)
    ids = case_ids(shifted_file)
    assert len(ids) > 9000 and not any(case_id in text for case_id in ids)
    assert str(shifted_file.parent) not in text  # no folder of this machine either
    assert shifted.facts["data"]["file"] == shifted_file.name
    assert shifted.facts["validated_at"]["metrics"]["auc"] > 0.7


def test_a_cpr_shaped_file_name_is_masked(monitored_model_dir, stable_file, tmp_path):
    import shutil

    named = tmp_path / "udtraek_010203-1234.csv"
    shutil.copy(stable_file, named)
    result = monitor(monitored_model_dir, named, subgroups=(), n_boot=10)
    assert result.facts["data"]["file"] == "udtraek_******-****.csv"
    assert "010203-1234" not in json.dumps(result.to_dict(), default=str)


def test_simulated_year_shifts_the_rate_it_says(tmp_path):
    year = simulate_year(1500, seed=9, shift_month=4, slower_by=0.05, mental_share=0.45, months=6)
    months = year.months.set_index("month")
    assert not months.loc["2027-03", "shifted"] and months.loc["2027-04", "shifted"]
    rise = months["expected_rate"] - months["expected_rate_before"]
    assert np.allclose(rise.loc["2027-04":], 0.05, atol=1e-6) and (rise.loc[:"2027-03"] == 0).all()
    assert (months.loc["2027-04":, "mental_share"] == 0.45).all()
    assert months.loc[:"2027-03", "mental_share"].between(0.25, 0.35).all()
    assert year.forms["case_id"].is_unique and len(year.forms) == 9000
    assert year.extraction_date == dt.date(2027, 7, 1) + dt.timedelta(days=119)

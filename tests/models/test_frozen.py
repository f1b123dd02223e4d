"""The frozen scorer: a fitted additive model as JSON, scoring exactly as the model, without scikit-learn."""

from __future__ import annotations

import copy
import json
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening.models import RiskScoring, fit_risk_model, freeze_scorer, thaw_scorer
from tests.conftest import heavy_imports_of


def _same_everywhere(model, scorer, forms) -> None:
    """Risks, contributions at every horizon, and the batch's one-pass numbers: equal to the last bit.

    A model remembers tables as it scores (some made for other forms at once, equal to a last bit or so):
    the scorer is compared with a copy of the model that has scored nothing either, call for call.
    """
    model = copy.deepcopy(model)
    assert np.array_equal(model.predict_risk(forms).to_numpy(), scorer.predict_risk(forms).to_numpy())
    for horizon in (8, 13, 22, 52):
        assert np.array_equal(model.contributions(forms, horizon=horizon).to_numpy(),
                              scorer.contributions(forms, horizon=horizon).to_numpy())
    X, entry = model.encode(forms)
    X2, entry2 = scorer.encode(forms)
    assert np.array_equal(X, X2, equal_nan=True) and np.array_equal(entry, entry2)
    at = np.where(entry < 13, 13.0, np.where(entry < 22, 22.0, np.where(entry < 52, 52.0, np.nan)))
    for a, b in zip(model.risks_and_contributions(X, entry, explain_at=at),
                    scorer.risks_and_contributions(X, entry, explain_at=at)):
        assert np.array_equal(a, b)
    for row in (0, 1, 17):  # one form at a time: the single-form path and its memo
        assert np.array_equal(model.risks_encoded(X[row : row + 1], entry[row : row + 1]),
                              scorer.risks_encoded(X[row : row + 1], entry[row : row + 1]))


def test_the_frozen_scorer_scores_as_the_fitted_model(additive_model, test_cohort):
    text = freeze_scorer(additive_model)
    scorer = thaw_scorer(text)
    assert isinstance(scorer, RiskScoring) and type(scorer) is not type(additive_model)
    assert scorer.contribution_groups_ == additive_model.contribution_groups_
    assert scorer.horizons_ == additive_model.horizons_ and type(scorer.horizons_) is tuple
    _same_everywhere(additive_model, scorer, test_cohort[0].iloc[:1500])


@pytest.mark.parametrize("family", ["aft", "frailty"])
def test_the_frozen_scorer_scores_as_the_model_on_both_simulated_families(family):
    from screening.intake import RawTable, validate_table
    from screening.synthetic import simulate_cohort

    cohort = simulate_cohort(1500, seed=31, training=True, family=family)
    forms = validate_table(RawTable(cohort.forms, np.arange(2, 1502)), training=True).valid.reset_index(drop=True)
    model = fit_risk_model(forms.iloc[:1000], family="additive", seed=2, audit_inputs=("sex",))
    _same_everywhere(model, thaw_scorer(freeze_scorer(model)), forms.iloc[1000:])


def test_the_boosted_family_has_no_frozen_scorer(boosted_model):
    assert freeze_scorer(boosted_model) is None


def test_an_attribute_the_format_cannot_keep_exactly_is_refused_when_freezing(additive_model):
    odd = copy.deepcopy(additive_model)
    odd.reference_ = odd.reference_.astype(np.float32)
    with pytest.raises(TypeError, match="reference_: arrays of float32"):
        freeze_scorer(odd)
    odd = copy.deepcopy(additive_model)
    odd.training_summary = {"when": object()}
    with pytest.raises(TypeError, match="training_summary"):
        freeze_scorer(odd)


def test_thawing_imports_neither_scikit_learn_nor_skops(additive_model, tmp_path):
    path = tmp_path / "scorer.json"
    path.write_text(freeze_scorer(additive_model), "utf-8")
    code = ("from screening.models import thaw_scorer\n"
            f"s = thaw_scorer(open({str(path)!r}).read())\n"
            "import numpy as np; s.risks_encoded(np.asarray(s.reference_)[None, :], np.array([3.0]))")
    assert heavy_imports_of(code) == []


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(format=2), "format"),
    (lambda d: d["model"].update(object="RiskModel"), "names no scoring class"),
    (lambda d: d["model"].update(object="os.system"), "names no scoring class"),
    (lambda d: d["model"]["state"].update(reference_={"array": "float64", "shape": [99], "data": [1.0]}),
     "does not fit its shape"),
    (lambda d: d["model"]["state"].update(reference_={"array": "complex128", "shape": [1], "data": [1.0]}),
     "not read"),
    (lambda d: d["model"]["state"].update(reference_={"array": "object", "shape": [1], "data": [[1]]}),
     "only text"),
    (lambda d: d["model"]["state"].update(family_="boosted"), "not an additive"),
    (lambda d: d["model"]["state"].update(horizons_={"pickle": "x"}), "not a frozen value"),
])
def test_a_damaged_or_forged_scorer_is_refused(frozen_text, change, message):
    document = json.loads(frozen_text)
    change(document)
    with pytest.raises(ValueError, match=message):
        thaw_scorer(json.dumps(document))


@pytest.fixture(scope="module")
def frozen_text(additive_model):
    return freeze_scorer(additive_model)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=_JSON, where=st.integers(0, 10_000), raw=st.binary(max_size=64))
def test_any_text_thaws_to_a_scorer_or_one_value_error(frozen_text, noise, where, raw):
    """Outside input: whatever the file holds, the reader gives a scorer or a ValueError, never another error."""
    document = json.loads(frozen_text)
    state = document["model"]["state"]
    names = sorted(state)
    state[names[where % len(names)]] = noise  # one attribute replaced by any JSON value
    for text in (json.dumps(document), raw, json.dumps(noise)):
        try:
            thawed = thaw_scorer(text)
        except ValueError:
            continue
        assert isinstance(thawed, RiskScoring)

"""Scoring's adapter to the model gives exactly what the model's public methods give."""

from __future__ import annotations

import numpy as np
import pytest

from screening.scoring import _engine
from tests.scoring.conftest import valid_forms


@pytest.fixture(scope="module")
def forms():
    return valid_forms(600, seed=23)


def public(estimator, forms, horizon):
    frame = forms.reindex(columns=estimator.encoder_.feature_names_in_)
    return estimator.predict_risk(frame).to_numpy(), estimator.contributions(frame, horizon=horizon).to_numpy()


def test_additive_risks_and_contributions_equal_the_public_methods(model, forms):
    scored = _engine.score_forms(model.estimator, forms)
    risks, contributions = public(model.estimator, forms, 13)
    np.testing.assert_allclose(scored.risks, risks, rtol=1e-12, atol=1e-14)
    under = forms["sick_weeks"].to_numpy() < 13
    np.testing.assert_allclose(scored.contributions[under], contributions[under], rtol=1e-10, atol=1e-12)
    assert scored.groups == list(model.estimator.contribution_groups_)


def test_forms_past_13_weeks_are_explained_at_the_next_horizon(model, forms):
    scored = _engine.score_forms(model.estimator, forms)
    entry = forms["sick_weeks"].to_numpy()
    for horizon in (22, 52):
        rows = np.flatnonzero(scored.reason_horizon == horizon)
        if len(rows):
            _, contributions = public(model.estimator, forms.iloc[rows], horizon)
            np.testing.assert_allclose(scored.contributions[rows], contributions, rtol=1e-10, atol=1e-12)
            assert (entry[rows] >= 13).all()
    assert np.isnan(scored.reason_horizon[entry >= 52]).all()
    assert (scored.contributions[entry >= 52] == 0).all()


def test_boosted_family_too(boosted, forms):
    few = forms.iloc[:40]
    scored = _engine.score_forms(boosted.estimator, few)
    risks, contributions = public(boosted.estimator, few, 13)
    np.testing.assert_allclose(scored.risks, risks, rtol=1e-12, atol=1e-14)
    under = few["sick_weeks"].to_numpy() < 13
    np.testing.assert_allclose(scored.contributions[under], contributions[under], rtol=1e-10, atol=1e-12)


def test_chunks_do_not_change_the_results(model, forms, monkeypatch):
    """Up to the last bit of a float (BLAS sums in blocks); risks are written with 4 decimals."""
    whole = _engine.score_forms(model.estimator, forms)
    monkeypatch.setattr(_engine, "CHUNK_FORMS", 37)
    chunked = _engine.score_forms(model.estimator, forms)
    np.testing.assert_allclose(whole.risks, chunked.risks, rtol=1e-13, atol=1e-15)
    monkeypatch.setattr(_engine, "WORKERS", 1)
    one_thread = _engine.score_forms(model.estimator, forms)
    np.testing.assert_array_equal(one_thread.risks, chunked.risks)  # threads never change a result
    np.testing.assert_array_equal(one_thread.contributions, chunked.contributions)
    np.testing.assert_allclose(whole.contributions, chunked.contributions, rtol=1e-12, atol=1e-14)


def test_a_model_without_the_13_week_horizon_is_refused(model):
    from screening.registry._files import LoadedModel
    from screening.scoring import ScreeningModel

    class Other:
        horizons_ = (8.0, 22.0)

    with pytest.raises(ValueError, match="13-week"):
        ScreeningModel(LoadedModel(estimator=Other(), metadata={}, path=model.path, checksum=""))

"""Scoring's adapter to the model gives exactly what the model's public methods give."""

from __future__ import annotations

import numpy as np
import pytest

from screening import _io
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
    monkeypatch.setattr(_io, "_TABLE_THREADS", {"n": 1})
    one_thread = _engine.score_forms(model.estimator, forms)
    np.testing.assert_array_equal(one_thread.risks, chunked.risks)  # threads never change a result
    np.testing.assert_array_equal(one_thread.contributions, chunked.contributions)
    np.testing.assert_allclose(whole.contributions, chunked.contributions, rtol=1e-12, atol=1e-14)


def test_each_chunk_is_scored_in_one_pass_with_the_public_numbers(model, forms, monkeypatch):
    """The additive family's risks and reasons come from one pass per chunk, not one per horizon."""
    estimator = model.estimator
    calls = {"scores": 0, "risks": 0, "contributions": 0}
    for name, key in (("_additive_scores", "scores"), ("_risks", "risks"), ("_additive_contributions", "contributions")):
        method = getattr(type(estimator), name)

        def counted(self, *args, _method=method, _key=key, **kwargs):
            calls[_key] += 1
            return _method(self, *args, **kwargs)

        monkeypatch.setattr(type(estimator), name, counted)
    monkeypatch.setattr(_engine, "CHUNK_FORMS", 200)
    scored = _engine.score_forms(estimator, forms)
    assert calls == {"scores": 3, "risks": 0, "contributions": 0}
    monkeypatch.undo()
    risks, _ = public(estimator, forms, 13)
    np.testing.assert_allclose(scored.risks, risks, rtol=1e-12, atol=1e-14)
    for horizon in (13, 22, 52):
        rows = np.flatnonzero(scored.reason_horizon == horizon)
        _, contributions = public(estimator, forms.iloc[rows], horizon)
        np.testing.assert_allclose(scored.contributions[rows], contributions, rtol=1e-12, atol=1e-13)


def test_blas_runs_on_one_thread_while_scoring_and_is_restored_after(model, forms, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    before = blas_threads()
    seen = []
    original = type(model.estimator)._additive_scores

    def spy(self, *args, **kwargs):
        seen.append(blas_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model.estimator), "_additive_scores", spy)
    monkeypatch.setattr(_engine, "BLAS_ONE_THREAD_FROM", 100)
    monkeypatch.setattr(_engine, "CHUNK_FORMS", 100)
    _engine.score_forms(model.estimator, forms)
    assert len(seen) == 6 and all(threads and set(threads) == {1} for threads in seen)
    assert blas_threads() == before
    # Calls overlapping in several threads share the limit; the last one out restores the setting.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: _engine.score_forms(model.estimator, forms), range(8)))
    assert blas_threads() == before
    seen.clear()
    _engine.score_forms(model.estimator, forms.iloc[:50])  # a few forms: the setting is left alone
    assert seen == [before]


def test_the_boosted_family_is_scored_in_smaller_chunks(boosted, forms, monkeypatch):
    """Its attribution predicts hundreds of hybrid forms per form: chunks stay small, results the same."""
    few = forms.iloc[:30]
    whole = _engine.score_forms(boosted.estimator, few)
    sizes = []
    original = type(boosted.estimator)._risks

    def spy(self, X, *args, **kwargs):
        sizes.append(len(X))
        return original(self, X, *args, **kwargs)

    monkeypatch.setattr(type(boosted.estimator), "_risks", spy)
    monkeypatch.setattr(_engine, "BOOSTED_CHUNK_FORMS", 12)
    chunked = _engine.score_forms(boosted.estimator, few)
    assert sizes == [12, 12, 6]
    np.testing.assert_allclose(chunked.risks, whole.risks, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(chunked.contributions, whole.contributions, rtol=1e-10, atol=1e-12)


def test_a_model_without_the_13_week_horizon_is_refused(model):
    from screening.registry._files import LoadedModel
    from screening.scoring import ScreeningModel

    class Other:
        horizons_ = (8.0, 22.0)

    with pytest.raises(ValueError, match="13-week"):
        ScreeningModel(LoadedModel(estimator=Other(), metadata={}, path=model.path, checksum=""))

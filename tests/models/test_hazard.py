"""The boosted hazard's bag: members on different early-stopping forms, averaged on the log scale."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import skops.io as sio

from screening.models._hazard import BoostedHazard
from screening.registry._files import TRUSTED_TYPES


@pytest.fixture(scope="module")
def person_periods():
    """Rows of 600 forms (4 each): a number, a category, the week; hazard depends on all three."""
    rng = np.random.default_rng(5)
    forms = 600
    groups = np.repeat(np.arange(forms), 4)
    number, category = rng.normal(size=forms)[groups], rng.integers(0, 3, forms)[groups].astype(float)
    week = np.tile(np.arange(4.0), forms)
    number[::23] = np.nan
    X = np.column_stack([number, category, week]).astype(np.float32)
    rate = np.exp(-1.5 + 0.5 * np.nan_to_num(number) - 0.3 * category + 0.1 * week)
    exposure = np.ones(len(X))
    event = rng.poisson(rate).clip(max=1).astype(float)
    return X, event, exposure, groups


def fitted(person_periods, **options):
    X, event, exposure, groups = person_periods
    return BoostedHazard(categorical_features=[False, True, False], min_samples_leaf=20, **options).fit(
        X, event, exposure=exposure, groups=groups)


def test_the_log_hazard_is_the_mean_of_the_members_log_hazards(person_periods):
    hazard = fitted(person_periods, n_members=3)
    X = person_periods[0]
    assert len(hazard.members_) == 3
    logs = np.array([np.log(member.predict(X)) for member in hazard.members_])
    np.testing.assert_allclose(hazard.predict_log_rate(X), logs.mean(axis=0), rtol=1e-12)
    assert np.ptp(logs, axis=0).max() > 0  # different early-stopping forms make different members
    assert hazard.n_iter_ == sum(member.n_iter_ for member in hazard.members_)


def test_each_member_holds_out_other_forms_so_every_form_trains_all_members_but_one():
    from screening.models._hazard import _early_stopping_forms

    held_out = _early_stopping_forms(20_000, 4, 0.2, seed=3)
    assert held_out.shape == (4, 20_000)
    np.testing.assert_allclose(held_out.mean(axis=1), 0.2, atol=0.01)
    assert held_out.sum(axis=0).max() == 1  # no form held out twice
    np.testing.assert_array_equal(held_out[0], np.random.default_rng(3).random(20_000) < 0.2)


def test_one_member_is_the_single_boosted_model_of_before(person_periods):
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, event, exposure, groups = person_periods
    hazard = fitted(person_periods, n_members=1, max_features=1.0)
    held_out = (np.random.default_rng(0).random(groups.max() + 1) < 0.1)[groups]  # as before the bag
    single = HistGradientBoostingRegressor(
        loss="poisson", learning_rate=0.05, max_iter=1000, max_leaf_nodes=31, min_samples_leaf=20,
        l2_regularization=1.0, categorical_features=np.array([False, True, False]), early_stopping=True,
        n_iter_no_change=20, random_state=0,
    ).fit(X[~held_out], event[~held_out], sample_weight=exposure[~held_out],
          X_val=X[held_out], y_val=event[held_out], sample_weight_val=exposure[held_out])
    np.testing.assert_array_equal(hazard.predict_log_rate(X), np.log(single.predict(X)))


@pytest.mark.parametrize("how", ["skops", "pickle"])
def test_a_hazard_saved_before_the_bag_loads_and_predicts_the_same(person_periods, how):
    """Before the bag, the fitted state was one ``model_`` and there was no ``n_members``."""
    hazard = fitted(person_periods, n_members=1, max_features=1.0)
    old = BoostedHazard.__new__(BoostedHazard)
    old.__dict__.update({name: value for name, value in vars(hazard).items()
                         if name not in ("n_members", "max_features", "members_")})
    old.model_ = hazard.members_[0]
    if how == "skops":
        data = sio.dumps(old)
        assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
        loaded = sio.loads(data, trusted=list(TRUSTED_TYPES))
    else:
        loaded = pickle.loads(pickle.dumps(old))
    assert (loaded.n_members, loaded.max_features, len(loaded.members_)) == (1, 1.0, 1)
    assert not hasattr(loaded, "model_")
    X = person_periods[0]
    np.testing.assert_array_equal(loaded.predict_log_rate(X), hazard.predict_log_rate(X))


def test_a_bag_round_trips_through_skops_with_the_trusted_types(person_periods):
    hazard = fitted(person_periods, n_members=2)
    data = sio.dumps(hazard)
    assert set(sio.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
    loaded = sio.loads(data, trusted=list(TRUSTED_TYPES))
    X = person_periods[0]
    np.testing.assert_array_equal(loaded.predict_log_rate(X), hazard.predict_log_rate(X))


def test_a_bag_needs_a_member():
    with pytest.raises(ValueError, match="n_members"):
        BoostedHazard(n_members=0).fit(np.zeros((4, 1)), np.zeros(4), exposure=np.ones(4), groups=np.arange(4))

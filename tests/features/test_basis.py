"""AdditiveBasis builds a grouped design: splines, indicators, missing flags, interactions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from screening.features import AdditiveBasis


def data(n: int = 200) -> np.ndarray:
    rng = np.random.default_rng(1)
    age = rng.uniform(16, 75, n)
    group = rng.integers(0, 3, n).astype(float)
    load = rng.integers(1, 5, n).astype(float)
    age[:10] = np.nan
    group[10:15] = np.nan
    return np.column_stack([age, group, load])


def test_every_design_column_belongs_to_a_named_group():
    basis = AdditiveBasis(categorical_features=[1], feature_names=["age", "group", "load"],
                          interactions=[("load", "group")]).fit(data())
    groups = list(dict.fromkeys(basis.groups_))
    assert groups == ["age", "group", "load", "group x load"]
    assert len(basis.groups_) == basis.transform(data()).shape[1] == len(basis.get_feature_names_out())


def test_missing_numbers_get_an_indicator_and_missing_categories_a_level():
    basis = AdditiveBasis(categorical_features=[1], feature_names=["age", "group", "load"]).fit(data())
    names = basis.get_feature_names_out().tolist()
    design = basis.transform(data())
    assert design[:10, names.index("age=missing")].all() and not design[10:, names.index("age=missing")].any()
    assert design[10:15, names.index("group=missing")].all()
    levels = [name for name in names if name.startswith("group=") and name != "group=missing"]
    assert design[10:15][:, [names.index(level) for level in levels]].sum() == 0


def test_few_valued_numbers_stay_linear_and_others_get_splines():
    basis = AdditiveBasis(feature_names=["age", "group", "load"], n_knots=4).fit(data())
    names = basis.get_feature_names_out().tolist()
    assert "load" in names and "age_s0" in names and sum(name.startswith("age_s") for name in names) == 4 + 3 + 1


def test_values_beyond_the_training_range_are_clipped_not_extrapolated():
    basis = AdditiveBasis(feature_names=["age", "group", "load"]).fit(data())
    edge = basis.transform(np.array([[75.0, 1.0, 2.0]]))
    beyond = basis.transform(np.array([[120.0, 1.0, 2.0]]))
    np.testing.assert_allclose(edge, beyond, atol=1e-3)


def test_unknown_interaction_column_is_an_error():
    with pytest.raises(ValueError, match="no column named"):
        AdditiveBasis(feature_names=["a", "b", "c"], interactions=[("a", "z")]).fit(data())


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(2, 40), st.integers(1, 4)),
              elements=st.one_of(st.just(np.nan), st.floats(-1e3, 1e3))))
def test_design_is_finite_for_any_numbers_and_gaps(X):
    design = AdditiveBasis().fit(X).transform(X)
    assert design.shape[0] == X.shape[0] and np.isfinite(design).all()

"""Repeated case ids found by fingerprint are exactly the ids a whole-file comparison finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.intake._ids import RepeatedIds, fingerprints

ids = st.lists(st.one_of(st.none(), st.sampled_from(["A", "a", "B-1", "B-1 ", "Ø7", ""]), st.text(max_size=6)),
               max_size=40)


@settings(max_examples=max(200, settings.default.max_examples), deadline=None)
@given(values=ids, cuts=st.lists(st.integers(0, 40), max_size=4))
def test_repeated_ids_by_fingerprint_are_the_repeated_ids(values, cuts):
    series = pd.Series(values, dtype="str")
    bounds = sorted({0, len(values), *[min(cut, len(values)) for cut in cuts]})
    chunks = [series.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    repeated = RepeatedIds.of(fingerprints(chunk) for chunk in chunks)
    expected = (series.duplicated(keep=False) & series.notna()).to_numpy()
    found = np.concatenate([repeated.mask(chunk) for chunk in chunks]) if chunks else np.zeros(0, bool)
    np.testing.assert_array_equal(found, expected)
    assert len(repeated) == series[expected].nunique()


def test_fingerprints_tell_near_identical_ids_apart():
    prints = fingerprints(pd.Series(["K-1", "K-1 ", "k-1", "K-01", "K-1"], dtype="str"))
    assert len(np.unique(prints)) == 4 and prints[0] == prints[4]

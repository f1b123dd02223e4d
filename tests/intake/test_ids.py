"""Repeated case ids found by fingerprint are exactly the ids a whole-file comparison finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.intake._ids import FINGERPRINT, SHORT_ID_BYTES, RepeatedIds, fingerprints

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


short_texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=15).filter(
    lambda text: len(text.encode("utf-8")) <= SHORT_ID_BYTES)


@settings(max_examples=max(200, settings.default.max_examples), deadline=None)
@given(values=st.lists(short_texts, max_size=30))
def test_short_ids_are_told_apart_exactly(values):
    """An id of up to 15 bytes is its own fingerprint: different ids never share one, whatever their bytes."""
    prints = fingerprints(pd.Series(values, dtype="str"))
    assert len(np.unique(prints)) == len(set(values))


def test_ids_either_side_of_the_short_limit_are_told_apart():
    values = ["A" * 15, "A" * 16, "A" * 14 + "\0", "A" * 14, "Ø" * 7 + "A", "Ø" * 8, "Ø" * 8 + "\0", "", "\0",
              "K-" + "9" * 40, "K-" + "9" * 39 + "8"]
    prints = fingerprints(pd.Series(values + values, dtype="str"))
    assert len(np.unique(prints)) == len(values)
    np.testing.assert_array_equal(prints[: len(values)], prints[len(values):])


def test_the_fingerprint_of_an_id_does_not_depend_on_how_the_column_is_held():
    values = ["x", None, "SIM-0000001", "S3-0000001 ", "=1+1", "case-" + "7" * 30, None, "Æ-12"]
    expected = fingerprints(pd.Series(values[2:], dtype="str"))
    held = [pd.Series(values, dtype="str").iloc[2:], pd.Series(values, dtype=object).iloc[2:],
            pd.Series(values, dtype=pd.StringDtype("python")).iloc[2:], pd.Series(values[2:], dtype="str")]
    for ids in held:
        np.testing.assert_array_equal(fingerprints(ids), expected)
    assert len(fingerprints(pd.Series([None, None], dtype="str"))) == 0


def _sharing_first_half(record: np.ndarray, low: int) -> np.ndarray:
    other = record.copy()
    other["low"] = np.uint64(low)
    return other


def test_ids_sharing_a_first_half_are_still_told_apart():
    """Two different ids whose fingerprints share the first 64 bits (never seen, but possible) are compared whole."""
    a, b = fingerprints(pd.Series(["A", "B"], dtype="str"))
    twin = _sharing_first_half(np.array([a]), int(a["low"]) ^ 1)[0]
    part = np.array([a, twin, b, a], dtype=FINGERPRINT)  # "A" twice, its twin once
    repeated = RepeatedIds.of([part])
    np.testing.assert_array_equal(repeated.repeated, np.array([a], dtype=FINGERPRINT))
    both = RepeatedIds(repeated=np.sort(np.array([a, twin], dtype=FINGERPRINT)))
    np.testing.assert_array_equal(both.mask(pd.Series(["A", None, "B", "A"], dtype="str")), [True, False, False, True])
    np.testing.assert_array_equal(RepeatedIds.of([np.array([twin, a, twin, a], dtype=FINGERPRINT)]).repeated,
                                  np.sort(np.array([a, twin], dtype=FINGERPRINT)))

"""The order a consultant works in: queues, bands, ties, capacity, per jobcenter."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from screening.scoring import _rank
from screening.scoring._rank import PRIORITIES, PRIORITY_THRESHOLDS, contact_marks, priority_codes, rank_order


def test_ranked_list_is_sorted_by_queue_risk_then_the_documented_tie_break(week_result):
    ranked = week_result.ranked
    expected = ranked.sort_values(["queue", "risk", "risk_22", "risk_52", "case_id"],
                                  ascending=[True, False, False, False, True], kind="mergesort", na_position="last")
    assert ranked["case_id"].tolist() == expected["case_id"].tolist()
    for queue in ("early", "late"):
        part = ranked[ranked["queue"] == queue]
        assert part["rank"].tolist() == list(range(1, len(part) + 1))


def test_equal_risks_are_ordered_by_longer_horizons_then_case_id():
    risk_13 = np.array([0.4, 0.4, 0.4, 0.4, 0.9])
    risk_22 = np.array([0.2, 0.3, 0.3, 0.3, 0.1])
    risk_52 = np.array([0.1, 0.05, 0.05, 0.07, 0.0])
    ids = pa.array(["a", "c", "b", "z", "y"])
    order, rank = rank_order(np.zeros(5, dtype=int), risk_13, risk_22, risk_52, ids)
    assert [ids[i].as_py() for i in order] == ["y", "z", "b", "c", "a"]
    assert rank.tolist() == [1, 2, 3, 4, 5]


def test_risks_equal_to_four_decimals_are_ties():
    order, _ = rank_order(np.zeros(2, dtype=int), np.array([0.30001, 0.30004]), None, None, pa.array(["b", "a"]))
    assert order.tolist() == [1, 0]  # both 0.3000: case_id decides


def test_rank_restarts_in_each_jobcenter_and_forms_without_one_come_last():
    risk = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    ids = pa.array(["1", "2", "3", "4", "5"])
    groups = pa.array(["Odense", None, "Aarhus", "Odense", "Aarhus"])
    order, rank = rank_order(np.zeros(5, dtype=int), risk, None, None, ids, groups=groups)
    assert [ids[i].as_py() for i in order] == ["3", "5", "1", "4", "2"]
    assert rank.tolist() == [1, 2, 1, 2, 1]


def test_the_early_queue_comes_first_and_ranks_restart_in_the_late_one():
    queue = np.array([1, 0, 1, 0, 1])
    risk = np.array([0.9, 0.2, 0.5, 0.4, np.nan])  # the last: no horizon left
    ids = pa.array(["l1", "e1", "l2", "e2", "l3"])
    order, rank = rank_order(queue, risk, None, None, ids)
    assert [ids[i].as_py() for i in order] == ["e2", "e1", "l1", "l2", "l3"]
    assert rank.tolist() == [1, 2, 1, 2, 3]


@pytest.mark.parametrize(("risk", "band"), [
    (1.0, "high"), (0.5, "high"), (0.49996, "high"), (0.4999, "medium"), (0.25, "medium"), (0.2499, "low"), (0.0, "low"),
])
def test_priority_bands_follow_the_documented_thresholds_on_the_written_risk(risk, band):
    assert PRIORITIES[priority_codes(np.array([risk]))[0]] == band


def test_thresholds_are_the_documented_ones():
    assert PRIORITY_THRESHOLDS == {"high": 0.50, "medium": 0.25}


def test_capacity_marks_the_first_k_of_the_early_queue():
    assert contact_marks(np.array([1, 2, 3, 1, 2]), 2).tolist() == [True, True, False, True, True]
    early = np.array([True, True, True, False, False])
    assert contact_marks(np.array([1, 2, 3, 1, 2]), 2, early).tolist() == [True, True, False, False, False]
    assert contact_marks(np.array([1, 2]), None) is None
    assert not contact_marks(np.array([1, 2]), 0).any()


def test_capacity_overall(model, week):
    ranked = model.score(week, capacity=25).ranked
    assert ranked["contact_this_week"].tolist() == [True] * 25 + [False] * (len(ranked) - 25)
    assert (ranked["queue"].iloc[:25] == "early").all()


def test_capacity_per_jobcenter(model, week):
    result = model.score(week, capacity=4, per="jobcenter")
    ranked = result.ranked
    assert result.summary["contacts"] == int(ranked["contact_this_week"].sum())
    for jobcenter, group in ranked.groupby(ranked["jobcenter"].fillna("(none)"), sort=False):
        for queue, part in group.groupby("queue", sort=False):
            assert part["rank"].tolist() == list(range(1, len(part) + 1)), jobcenter
            assert part["contact_this_week"].tolist() == [queue == "early" and rank <= 4 for rank in part["rank"]]
            assert part["risk"].fillna(-1).is_monotonic_decreasing
    named = ranked["jobcenter"].dropna()
    assert named.tolist() == sorted(named.tolist())
    blank = ranked["jobcenter"].isna().to_numpy()
    assert blank.any() and blank[np.argmax(blank):].all()  # forms without a jobcenter: one group, last


def test_without_capacity_nobody_is_marked_either_way(week_result):
    assert week_result.ranked["contact_this_week"].isna().all()
    assert week_result.summary["contacts"] is None


def test_priorities_in_the_list_match_the_bands(week_result):
    ranked = week_result.ranked
    expected = np.where(ranked["risk"] >= 0.5, "high", np.where(ranked["risk"] >= 0.25, "medium", "low"))
    expected = np.where(ranked["risk"].isna(), None, expected)
    assert ranked["priority"].astype(object).where(ranked["priority"].notna(), None).tolist() == expected.tolist()
    assert week_result.summary["priority_counts"] == {name: int((expected == name).sum()) for name in PRIORITIES}


@st.composite
def keyed_tables(draw):
    """A table of sort keys of every kind the batch sorts on (text, risks to four decimals, other numbers), with
    nulls, NaN and many ties, and keys in any order, direction and null placement; an id last, not unique."""
    n = draw(st.integers(0, 120))
    texts = st.sampled_from(["Aarhus", "aarhus", "Ærø", "", "Odense", None])
    risks = st.one_of(st.none(), st.just(float("nan")), st.integers(0, 10_000).map(lambda units: units / 10_000))
    numbers = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, -0.0]))
    integers = st.one_of(st.none(), st.integers(-2**63, 2**63 - 1), st.integers(-3, 3))
    table = pa.table({
        "text": pa.array(draw(st.lists(texts, min_size=n, max_size=n)), pa.string()),
        "risk": pa.array(draw(st.lists(risks, min_size=n, max_size=n)), pa.float64()),
        "number": pa.array(draw(st.lists(numbers, min_size=n, max_size=n)), pa.float64()),
        "integer": pa.array(draw(st.lists(integers, min_size=n, max_size=n)), pa.int64()),
        "flag": pa.array(draw(st.lists(st.sampled_from([True, False, None]), min_size=n, max_size=n)), pa.bool_()),
        "id": pa.array(draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)), pa.string()),
    })
    names = draw(st.lists(st.sampled_from(["text", "risk", "number", "integer", "flag"]), min_size=1, max_size=5,
                          unique=True))
    keys = [(name, draw(st.sampled_from(["ascending", "descending"])), draw(st.sampled_from(["at_end", "at_start"])))
            for name in [*names, "id"]]
    return table, keys


@settings(max_examples=300, deadline=None)
@given(case=keyed_tables(), limit=st.sampled_from([1 << 62, 50]))
def test_sorting_by_packed_keys_is_arrows_stable_sort(case, limit):
    """The batch's sort (keys packed into numbers, ties broken by the last key) orders rows exactly as Arrow's
    stable sort: nulls and NaN where Arrow puts them, equal rows in their order, whatever the keys."""
    table, keys = case
    with mock.patch.object(_rank, "_PACKED_LIMIT", limit), mock.patch.object(_rank, "_ARROW_SORT_ROWS", 2):
        # _PACKED_LIMIT small: the packed keys are renumbered on the way
        assert _rank.sort_indices(table, keys).tolist() == pc.sort_indices(table, sort_keys=keys).to_numpy().tolist()

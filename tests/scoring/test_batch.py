"""Merging sorted runs and numbering the merged rows: the same order and ranks as sorting everything at once."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

import screening.scoring._batch as batch
import screening.scoring._rank as rank
from screening.scoring._rank import sort_keys

HORIZONS = (8, 13, 22, 52)


def forms_table(rng: np.random.Generator, n: int, start: int) -> pa.Table:
    """Rows shaped like a sorted chunk, with many ties on the risks (two decimals only), both queues, and
    a few late forms with no risk left (received at 52 weeks)."""
    jobcenters = np.array(["Aarhus", "Odense", "Ærø", None], dtype=object)
    queue = np.array(["early", "late"], dtype=object)[(rng.random(n) < 0.3).astype(int)]
    no_risk = (queue == "late") & (rng.random(n) < 0.2)
    return pa.table({
        "case_id": pa.array([f"C-{start + i:05d}" for i in range(n)], pa.string()),
        "jobcenter": pa.array(jobcenters[rng.integers(0, 4, n)].tolist(), pa.string()),
        "queue": pa.array(queue.tolist(), pa.string()),
        "risk": pa.array(np.round(rng.random(n), 2), mask=no_risk),
        "risk_8": pa.array(np.round(rng.random(n), 2)),
        "risk_22": pa.array(np.round(rng.random(n), 1)),
        "risk_52": pa.array(np.round(rng.random(n), 1)),
        "priority": pa.array(["low"] * n, pa.string()),
        "reasons": pa.array([""] * n, pa.string()),
    })


@settings(max_examples=max(60, settings.default.max_examples), deadline=None)
@given(sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6), per=st.sampled_from([None, "jobcenter"]),
       batch_rows=st.integers(1, 9), seed=st.integers(0, 2**16), on_disk=st.booleans(), probe_rows=st.integers(1, 5),
       grouped=st.booleans())
def test_merged_runs_are_the_whole_sorted_and_ranked(sizes, per, batch_rows, seed, on_disk, probe_rows, grouped,
                                                     tmp_path_factory):
    """Also when each run holds other jobcenters than the others (a file in jobcenter order): runs that hardly meet."""
    rng = np.random.default_rng(seed)
    keys = sort_keys(HORIZONS, per)
    tables, start = [], 0
    for number, size in enumerate(sizes):
        table = forms_table(rng, size, start)
        if grouped:
            table = table.set_column(1, "jobcenter", pa.array([f"J{number // 2}"] * size, pa.string()))
        tables.append(table.take(pc.sort_indices(table, sort_keys=keys)))
        start += size
    whole = pa.concat_tables(tables)
    expected = whole.take(pc.sort_indices(whole, sort_keys=keys))
    folder = tmp_path_factory.mktemp("runs")
    ranker = batch.Ranker(per, capacity=2)
    old = batch.RUN_BATCH_ROWS, batch.MERGE_ROWS, batch.PROBE_ROWS, rank._ARROW_SORT_ROWS
    # Slices far smaller than the runs, and sorted as big ones are (keys packed into numbers).
    batch.RUN_BATCH_ROWS, batch.MERGE_ROWS, batch.PROBE_ROWS, rank._ARROW_SORT_ROWS = batch_rows, 1, probe_rows, 2
    try:
        runs = [batch.write_run(table, folder, k) if on_disk else table for k, table in enumerate(tables)]
        pieces = list(batch.merge_runs(runs, keys))
    finally:
        batch.RUN_BATCH_ROWS, batch.MERGE_ROWS, batch.PROBE_ROWS, rank._ARROW_SORT_ROWS = old
    ranks = np.concatenate([ranker(piece) for piece in pieces]) if pieces else np.zeros(0, dtype=np.int64)
    merged = pa.concat_tables(pieces) if pieces else expected.slice(0, 0)
    assert merged.column("case_id").to_pylist() == expected.column("case_id").to_pylist()
    whole_ranker = batch.Ranker(per, capacity=2)
    np.testing.assert_array_equal(ranks, whole_ranker(expected) if len(expected) else ranks)
    if per == "jobcenter" and len(expected):
        assert ranker.groups == len(set(expected.column("jobcenter").to_pylist()))
    marks = ranker.contacts(merged, ranks) if len(expected) else np.zeros(0, dtype=bool)
    late = np.asarray(merged.column("queue").to_pylist()) == "late" if len(expected) else marks
    assert not marks[late].any()  # the late queue never takes a contact slot


def test_ranks_restart_per_jobcenter_and_queue_across_slices():
    table = pa.table({"jobcenter": pa.array(["A", "A", "A", "A", "B", "B", None, None], pa.string()),
                      "queue": pa.array(["early", "early", "early", "late", "early", "early", "late", "late"])})
    ranker = batch.Ranker("jobcenter", capacity=2)
    ranks = np.concatenate([ranker(table.slice(0, 2)), ranker(table.slice(2, 3)), ranker(table.slice(5))])
    assert ranks.tolist() == [1, 2, 3, 1, 1, 2, 1, 2]
    assert ranker.contacts(table, ranks).tolist() == [True, True, False, False, True, True, False, False]
    assert ranker.groups == 3

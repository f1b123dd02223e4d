"""Two queues: early contact goes to the people not yet 13 weeks absent; the others are listed apart.

A week where a fifth of the forms arrived after week 13 (the simulator's forms,
some moved past week 13): no contact slot goes to them while earlier forms wait,
they are ranked by the risk of passing the next horizon (never shown as 1), and
the order, ties and ranks follow the documented rule in the library, the command
and a single form alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screening.synthetic import simulate_cohort

CAPACITY = 5


def late_week(rows: int, seed: int, late_share: float = 0.2) -> pd.DataFrame:
    """Simulated forms, ``late_share`` of them moved past week 13 (dates blanked, weeks given)."""
    forms = simulate_cohort(rows, seed=seed, invalid_share=0.0).forms.copy()
    rng = np.random.default_rng(seed)
    late = rng.random(rows) < late_share
    forms.loc[late, "sick_weeks"] = rng.choice(["13", "14.5", "17", "21.9", "22", "30", "45", "52"], late.sum())
    forms.loc[late, "sick_leave_start"] = None
    return forms


@pytest.fixture(scope="module", params=[41, 42])
def scored(request, model):
    forms = late_week(900, seed=request.param)
    return forms, model.score(forms, capacity=CAPACITY, per="jobcenter")


def test_no_contact_slot_goes_to_the_late_queue_while_early_forms_wait(scored):
    forms, result = scored
    ranked = result.ranked
    assert (ranked["queue"] == "late").sum() > 0.1 * len(ranked)
    marked = ranked[ranked["contact_this_week"].fillna(False).astype(bool)]
    assert (marked["queue"] == "early").all()
    for jobcenter, rows in ranked.groupby("jobcenter", dropna=False):
        early = rows[rows["queue"] == "early"]
        assert rows["contact_this_week"].fillna(False).astype(bool).sum() == min(CAPACITY, len(early)), jobcenter
    assert result.summary["contacts"] == len(marked)
    assert result.summary["queue_counts"] == ranked["queue"].value_counts().to_dict()


def test_the_late_queue_is_ranked_by_the_next_horizon_and_never_shows_certainty(scored):
    _, result = scored
    ranked = result.ranked
    weeks = ranked["horizon"]
    early, late = ranked[ranked["queue"] == "early"], ranked[ranked["queue"] == "late"]
    assert (early["horizon"] == 13).all() and (early["risk"] < 1).all()
    assert set(late["horizon"].dropna().astype(int)) <= {22, 52}
    at_22 = late[weeks.loc[late.index] == 22]
    at_52 = late[weeks.loc[late.index] == 52]
    np.testing.assert_array_equal(at_22["risk"].to_numpy(), at_22["risk_22"].to_numpy())
    np.testing.assert_array_equal(at_52["risk"].to_numpy(), at_52["risk_52"].to_numpy())
    assert (at_22["risk_22"] < 1).all() and (at_52["risk_52"] < 1).all()
    no_horizon = late[late["horizon"].isna()]  # received at 52 weeks: nothing left to predict
    assert no_horizon["risk"].isna().all() and no_horizon["priority"].isna().all()
    assert not ranked["reasons"].str.contains("allerede sygemeldt").any()


def test_the_order_is_jobcenter_then_queue_then_risk_with_ranks_restarting(scored):
    _, result = scored
    ranked = result.ranked
    key = ranked["jobcenter"].fillna("\uffff")
    assert key.is_monotonic_increasing  # forms without a jobcenter last
    for _, rows in ranked.groupby(key, sort=False):
        queue = rows["queue"].map({"early": 0, "late": 1}).to_numpy()
        assert (np.diff(queue) >= 0).all()
        for _, part in rows.groupby("queue"):
            assert part["rank"].tolist() == list(range(1, len(part) + 1))
            risk = part["risk"].fillna(-1).to_numpy()
            assert (np.diff(risk) <= 0).all()


def test_without_per_the_queues_still_come_apart(model):
    result = model.score(late_week(400, seed=43), capacity=3)
    ranked = result.ranked
    assert ranked["queue"].tolist() == sorted(ranked["queue"].tolist())  # early first
    marked = ranked[ranked["contact_this_week"].fillna(False).astype(bool)]
    assert marked["rank"].tolist() == [1, 2, 3] and (marked["queue"] == "early").all()


def test_a_single_form_knows_its_queue(model):
    forms = late_week(60, seed=44, late_share=0.5)
    result = model.score(forms).ranked.set_index("case_id")
    for record in forms.head(40).to_dict("records"):
        values = {key: value for key, value in record.items() if value == value and value is not None}
        try:
            one = model.score_one(values)
        except ValueError:
            continue
        row = result.loc[one.case_id]
        assert one.queue == row["queue"]
        assert (one.horizon is None and pd.isna(row["horizon"])) or one.horizon == row["horizon"]
        assert (one.risk is None and pd.isna(row["risk"])) or one.risk == row["risk"]
        assert one.priority == (None if pd.isna(row["priority"]) else row["priority"])


def test_the_command_writes_the_queue_and_its_horizon(model_dir, tmp_path):
    from screening import cli

    path = tmp_path / "week.csv"
    late_week(300, seed=45).to_csv(path, index=False)
    output = tmp_path / "ranked.csv"
    assert cli.main(["score", "--model", str(model_dir), "--input", str(path), "--output", str(output),
                     "--capacity", "4", "--audit-log", str(tmp_path / "audit.jsonl")]) == 0
    ranked = pd.read_csv(output, dtype={"case_id": str})
    assert {"queue", "horizon"} <= set(ranked.columns)
    assert (ranked.loc[ranked["contact_this_week"] == "yes", "queue"] == "early").all()
    assert ranked.loc[ranked["queue"] == "late", "risk"].max() < 1

"""A model directory written by release 0.1.0 still loads and scores to the same risks.

skops finds classes by module path, so the classes a saved model refers to stay where
they are (methods may move, classes may not). ``tests/data/model_0_1_0`` was written
by ``screening train`` of that release on simulated forms, with the exact risks that
release gave for ``forms.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "model_0_1_0"
HORIZONS = (8, 13, 22, 52)


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(DATA / "risks.csv", dtype={"case_id": "str"}).set_index("case_id")


@pytest.fixture(scope="module")
def old_model():
    from screening.scoring import load_model

    return load_model(DATA / "model")


def test_the_old_directory_loads_with_its_checksums(old_model):
    assert old_model.version == "20261126-d95123c5-additive-s0"
    assert old_model.metadata["training_summary"]["family"] == "additive"


def test_the_batch_gives_the_old_risks(old_model, expected):
    forms = pd.read_csv(DATA / "forms.csv", dtype="str", keep_default_na=False, na_values=[""])
    result = old_model.score(forms)
    ranked = result.ranked.set_index("case_id").loc[expected.index]
    early = (ranked["queue"] == "early").to_numpy()
    for h in HORIZONS:
        if h == 13:  # the early queue's risk; 1 in the late one (past 13 weeks)
            written = np.where(early, ranked["risk"].to_numpy(dtype=float), 1.0)
        else:
            written = ranked[f"risk_{h}"].to_numpy(dtype=float)
        np.testing.assert_allclose(written, np.round(expected[f"risk_{h}"].to_numpy(), 4), rtol=0, atol=1e-12)
    assert result.summary["scored"] == len(expected)


def test_single_forms_give_the_old_risks(old_model, expected):
    forms = pd.read_csv(DATA / "forms.csv", dtype="str", keep_default_na=False, na_values=[""])
    forms = forms[forms["case_id"].isin(expected.index)].head(10)
    for record in forms.to_dict("records"):
        score = old_model.score_one({key: value for key, value in record.items() if value == value})
        for h in HORIZONS:
            assert score.risks[h] == pytest.approx(round(float(expected.loc[record["case_id"], f"risk_{h}"]), 4),
                                                   abs=1e-12)


def test_the_pyfunc_gives_the_old_exact_risks(old_model, expected):
    from screening.scoring._pyfunc import score_rows

    forms = pd.read_csv(DATA / "forms.csv", dtype="str", keep_default_na=False, na_values=[""])
    answer = score_rows(old_model, forms)
    scored = answer[answer["status"] == "scored"].set_index("case_id")
    assert len(scored) == len(expected)
    for h in HORIZONS:
        np.testing.assert_allclose(scored.loc[expected.index, f"risk_{h}"].to_numpy(dtype=float),  # None-able cells
                                   expected[f"risk_{h}"].to_numpy(), rtol=0, atol=1e-12)

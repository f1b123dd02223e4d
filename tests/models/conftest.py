"""Small simulated cohorts, validated as a user's file would be, shared by the model tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from screening.intake import RawTable, validate_table
from screening.synthetic import simulate_cohort


def validated(rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    cohort = simulate_cohort(rows, seed=seed, training=True)
    checked = validate_table(RawTable(cohort.forms, np.arange(2, rows + 2)), training=True)
    assert checked.refused_rows == 0
    return (checked.valid.reset_index(drop=True), cohort.latent.reset_index(drop=True),
            cohort.true_risk.reset_index(drop=True))


@pytest.fixture(scope="session")
def train_cohort():
    return validated(4000, seed=11)


@pytest.fixture(scope="session")
def test_cohort():
    return validated(4000, seed=12)


@pytest.fixture(scope="session")
def additive_model(train_cohort):
    from screening.models import fit_risk_model

    return fit_risk_model(train_cohort[0], family="additive", seed=0)


@pytest.fixture(scope="session")
def boosted_model(train_cohort):
    from screening.models import fit_risk_model

    return fit_risk_model(train_cohort[0], family="boosted", seed=0)

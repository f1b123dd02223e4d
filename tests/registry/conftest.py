from __future__ import annotations

import numpy as np
import pytest

from screening.intake import validate_table
from screening.intake import RawTable
from screening.synthetic import simulate_cohort


def validated(n: int, seed: int, training: bool = True):
    cohort = simulate_cohort(n, seed=seed, training=training)
    raw = RawTable(frame=cohort.forms, row_numbers=np.arange(2, n + 2))
    return validate_table(raw, training=training).valid, cohort


@pytest.fixture(scope="session")
def small_model():
    from screening.models import fit_risk_model

    forms, _ = validated(2_000, seed=3)
    return fit_risk_model(forms, family="additive", seed=0)


@pytest.fixture(scope="session")
def boosted_small():
    from screening.models import fit_risk_model

    forms, _ = validated(600, seed=5)
    return fit_risk_model(forms, family="boosted", seed=0, calibration_folds=1)


@pytest.fixture(scope="session")
def scoring_forms():
    forms, _ = validated(200, seed=4, training=True)  # TODO: RiskModel should not need outcome columns to predict
    return forms

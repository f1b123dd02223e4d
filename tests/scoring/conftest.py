"""A small fitted model saved as a real model directory, and a week of simulated forms, shared by the scoring tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.intake import RawTable, validate_table
from screening.synthetic import simulate_cohort

MODEL_VERSION = "test-1"


def valid_forms(rows: int, seed: int, *, training: bool = False) -> pd.DataFrame:
    cohort = simulate_cohort(rows, seed=seed, training=training)
    return validate_table(RawTable(cohort.forms, np.arange(2, rows + 2)), training=training).valid


@pytest.fixture(scope="session")
def training_forms() -> pd.DataFrame:
    return valid_forms(3000, seed=11, training=True)


def save_test_model(directory: Path, model, training: pd.DataFrame, *, version: str) -> Path:
    from screening.features import drift_reference
    from screening.registry import save_model_dir

    metadata = {"version": version, "horizons": [8, 13, 22, 52], "family": model.family_,
                "drift_reference": drift_reference(training)}
    return save_model_dir(model, directory, metadata=metadata,
                          extra_files={"model_card.md": f"# Model card {version}\n"})


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, training_forms) -> Path:
    """An additive model (exact reasons), saved and checksummed as `screening train` saves one."""
    from screening.models import fit_risk_model

    model = fit_risk_model(training_forms, family="additive", seed=0)
    return save_test_model(tmp_path_factory.mktemp("models") / "additive", model, training_forms,
                           version=MODEL_VERSION)


@pytest.fixture(scope="session")
def model(model_dir):
    from screening.scoring import load_model

    return load_model(model_dir)


@pytest.fixture(scope="session")
def boosted(training_forms):
    """A boosted model on fewer forms (its attribution is the expensive one), wrapped without saving."""
    from screening.models import fit_risk_model
    from screening.registry._files import LoadedModel
    from screening.scoring import ScreeningModel

    estimator = fit_risk_model(training_forms.iloc[:1500], family="boosted", seed=0)
    return ScreeningModel(LoadedModel(estimator=estimator, metadata={"version": "test-boosted"},
                                      path=Path("boosted"), checksum="0" * 64))


@pytest.fixture(scope="session")
def week() -> pd.DataFrame:
    """This week's forms as a file holds them (text), 3 % with a defect the validator refuses."""
    return simulate_cohort(1200, seed=5, invalid_share=0.03).forms


@pytest.fixture(scope="session")
def week_result(model, week):
    return model.score(week)

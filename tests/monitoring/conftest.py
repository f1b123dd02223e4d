"""A small model that knows what it was validated at, and two simulated years: one stable, one with slower returns from July."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.synthetic import write_forms
from tests.scoring.conftest import valid_forms

#: Forms per month of the simulated years: small enough to be quick, large enough for a month to be judged.
FORMS_PER_MONTH = 800
#: Slower returns from July: the 13-week rate rises by 12 points the forms cannot show.
SHIFT = 0.12
N_BOOT = 100


@pytest.fixture(scope="session")
def monitored_model_dir(tmp_path_factory) -> Path:
    """An additive model saved with the figures it was validated at (as ``train_model`` stores them)."""
    from screening.features import drift_reference
    from screening.models import evaluate, fit_risk_model
    from screening.registry import save_model_dir

    training = valid_forms(3000, seed=11, training=True)
    held_out = valid_forms(1500, seed=12, training=True)
    model = fit_risk_model(training, family="additive", seed=0)
    evaluation = evaluate(model, held_out, n_boot=50, subgroups=())
    figures = {"metrics": evaluation.metrics,
               "intervals": {name: list(evaluation.interval(name)) for name in evaluation.metrics},
               "forms_scored": evaluation.notes["forms_scored"],
               "effective_sample_size": evaluation.notes["effective_sample_size"]}
    metadata = {"version": "monitor-test-1", "horizons": [8, 13, 22, 52], "family": model.family_,
                "drift_reference": drift_reference(training),
                "evaluation": {"metrics": evaluation.metrics, "notes": {"horizon": 13},
                               "intervals": figures["intervals"], "by_horizon": {"13": figures}}}
    return save_model_dir(model, tmp_path_factory.mktemp("monitored") / "model", metadata=metadata)


def year_file(directory: Path, *, seed: int, shift: float = 0.0, **options) -> Path:
    from screening.monitoring import simulate_year

    year = simulate_year(FORMS_PER_MONTH, seed=seed, shift_month=7 if shift else None, slower_by=shift, **options)
    path = directory / f"year_{seed}_{shift}.csv"
    write_forms(year.forms, path)
    return path


@pytest.fixture(scope="session")
def stable_file(tmp_path_factory) -> Path:
    return year_file(tmp_path_factory.mktemp("years"), seed=1)


@pytest.fixture(scope="session")
def shifted_file(tmp_path_factory) -> Path:
    return year_file(tmp_path_factory.mktemp("years"), seed=2, shift=SHIFT, mental_share=0.4)


@pytest.fixture(scope="session")
def stable(monitored_model_dir, stable_file):
    from screening.monitoring import monitor

    return monitor(monitored_model_dir, stable_file, n_boot=N_BOOT)


@pytest.fixture(scope="session")
def shifted(monitored_model_dir, shifted_file):
    from screening.monitoring import monitor

    return monitor(monitored_model_dir, shifted_file, n_boot=N_BOOT)


def case_ids(path: Path) -> set[str]:
    import pandas as pd

    ids = pd.read_csv(path, usecols=["case_id"], dtype="str")["case_id"]
    return set(ids[ids.notna()].to_numpy(dtype=object))



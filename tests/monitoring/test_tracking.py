"""The monitoring run in MLflow: linked to the registered model version it judged, counts and rates only."""

from __future__ import annotations

from pathlib import Path

import pytest

from screening.cli import main
from tests.monitoring.conftest import case_ids

REGISTERED = "monitor-risk"


@pytest.fixture(scope="module")
def registered(store, monitored_model_dir):
    """The test model registered as ``train_model --register`` registers one (a pyfunc version, champion)."""
    from screening.registry._tracking import log_training_run
    from screening.synthetic import simulate_cohort

    example = simulate_cohort(3, seed=2026, messy=False).forms.astype(object)
    return log_training_run(model_dir=Path(monitored_model_dir), params={}, metrics={}, artifacts={}, tags={},
                            input_example=example.where(example.notna(), None), register=REGISTERED, promote=True,
                            run_name="monitor-test")


@pytest.fixture(scope="module")
def monitoring_run(registered, shifted_file, tmp_path_factory):
    import mlflow

    page = tmp_path_factory.mktemp("page") / "monitoring.html"
    code = main(["monitor", "--model", f"models:/{REGISTERED}@champion", "--data", str(shifted_file),
                 "--bootstrap", "50", "--report", str(page)])
    assert code == 1
    client = mlflow.MlflowClient()
    experiment = client.get_experiment_by_name("screening-monitoring")
    (run,) = client.search_runs([experiment.experiment_id])
    return client, run


def test_the_run_is_linked_to_the_registered_version(registered, monitoring_run):
    client, run = monitoring_run
    tags = run.data.tags
    assert tags["screening.kind"] == "monitoring" and tags["screening.model_version"] == "monitor-test-1"
    assert tags["screening.registered_name"] == REGISTERED and tags["screening.alias"] == "champion"
    assert tags["screening.registered_version"] == registered["registered_version"] == "1"
    assert tags["screening.retrain_advised"] == "yes" and "2027-08" in tags["screening.flagged_periods"]
    version = client.get_model_version(REGISTERED, "1")
    assert version.tags["screening.monitoring_run"] == run.info.run_id
    assert version.tags["screening.monitoring_verdict"].startswith("retrain advised")


def test_the_trend_is_logged_one_step_per_period(monitoring_run):
    client, run = monitoring_run
    history = client.get_metric_history(run.info.run_id, "calibration_in_the_large")
    steps = [m.step for m in history]
    assert len(steps) >= 12 and len(set(steps)) == len(steps)  # every judged month, one step each
    flagged = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "flagged")}
    assert sum(flagged.values()) == run.data.metrics["periods_flagged"] >= 1
    assert run.data.params["tolerance"] == "0.03" and run.data.params["data_rows_valid"] == "9600"


def test_nothing_personal_in_the_run(monitoring_run, shifted_file, tmp_path):
    import mlflow

    client, run = monitoring_run
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path)))
    texts = {path.name: path.read_text("utf-8") for path in folder.rglob("*") if path.is_file()}
    assert {"periods.csv", "subgroups.csv", "summary.json", "advice.txt", "monitoring.html"} <= set(texts)
    logged = " ".join([*texts.values(), *map(str, run.data.params.values()), *run.data.params,
                       *map(str, run.data.tags.values()), *run.data.metrics])
    ids = case_ids(shifted_file)
    assert len(ids) == 9600 and not any(case_id in logged for case_id in ids)
    assert str(shifted_file.parent) not in logged
    # Subgroups under the minimum size: their status only, no count, no rate.
    import io

    import pandas as pd

    groups = pd.read_csv(io.StringIO(texts["subgroups.csv"]))
    small = groups[groups["status"] == "too_small"]
    assert len(small) and small.drop(columns=["period", "attribute", "group", "status", "flagged"]).isna().all().all()

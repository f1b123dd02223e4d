"""Training runs tracked in MLflow, the registry alias and the self-contained model directory."""

from __future__ import annotations

import json

import pytest

from screening.synthetic import simulate_cohort, write_forms


@pytest.fixture(scope="module")
def trained(store, tmp_path_factory):
    from screening.registry import train_model

    folder = tmp_path_factory.mktemp("train")
    data = folder / "train.csv"
    write_forms(simulate_cohort(2_500, seed=21, training=True).forms, data)
    first = train_model(data, model_dir=folder / "model_a", family="additive", register="risk")
    second = train_model(data, model_dir=folder / "model_b", family="additive", seed=1, register="risk")
    return first, second, folder


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    forms = simulate_cohort(60, seed=22, invalid_share=0.1).forms
    path = tmp_path_factory.mktemp("week") / "week.csv"
    write_forms(forms, path)
    return forms, path


def test_runs_are_logged_with_params_metrics_and_fingerprint(trained):
    import mlflow

    first, _, _ = trained
    run = mlflow.get_run(first.tracking["run_id"])
    assert run.data.params["family"] == "additive"
    assert 0.5 < run.data.metrics["test_auc"] <= 1
    assert "logistic_auc" in run.data.metrics and "boosted_auc" in run.data.metrics
    artifacts = {item.path for item in mlflow.MlflowClient().list_artifacts(run.info.run_id)}
    assert {"card", "plots", "data"} <= artifacts
    fingerprint = json.loads(open(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="data/data_fingerprint.json")).read())
    assert fingerprint["rows_valid"] == 2_500 and fingerprint["censored"] > 0
    assert "SIM-" not in json.dumps(fingerprint)  # no case ids, no personal data


def test_first_version_is_champion_and_later_ones_wait(trained):
    import mlflow

    first, second, _ = trained
    assert first.tracking["aliases"] == ["champion"]
    assert second.tracking["aliases"] == [] and second.tracking["previous_champion"] == "1"
    version = mlflow.MlflowClient().get_model_version_by_alias("risk", "champion")
    assert str(version.version) == "1"


def test_promote_moves_the_alias(trained):
    import mlflow

    from screening.registry import promote

    promote("risk", 2)
    assert str(mlflow.MlflowClient().get_model_version_by_alias("risk", "champion").version) == "2"
    promote("risk", 1)


def test_the_model_directory_is_self_contained(trained):
    from screening.registry import load_model_dir

    first, _, _ = trained
    loaded = load_model_dir(first.model_dir)
    assert (first.model_dir / "model_card.md").read_text().startswith("# Model card")
    assert (first.model_dir / "plots" / "reliability.png").read_bytes()[:4] == b"\x89PNG"
    assert loaded.metadata["training_summary"]["censored"] > 0



"""Training runs tracked in MLflow, the registry alias, and the pyfunc giving the same risks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from screening.synthetic import simulate_cohort, write_forms


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlruns")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    patcher = pytest.MonkeyPatch()
    patcher.setenv("MLFLOW_TRACKING_URI", uri)
    yield uri
    patcher.undo()


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


def test_pyfunc_gives_the_same_risks_as_the_library(trained, week):
    import mlflow

    from screening.intake import validate_file
    from screening.registry import load_model_dir, resolve_model_uri

    forms, path = week
    pyfunc = mlflow.pyfunc.load_model("models:/risk@champion")
    out = pyfunc.predict(forms)
    assert len(out) == len(forms) and out["case_id"].tolist() == forms["case_id"].tolist()
    direct = validate_file(path)
    risks = load_model_dir(resolve_model_uri("models:/risk@champion")).estimator.predict_risk(direct.valid)
    scored = out[out["status"] == "scored"]
    assert len(scored) == len(direct.valid)
    np.testing.assert_allclose(scored["risk_13"].to_numpy(), risks["risk_13"].to_numpy(), rtol=1e-12)
    refused = out[out["status"] == "refused"]
    assert len(refused) == direct.refused_rows and (refused["refusal"] != "").all()
    assert refused["risk_13"].isna().all()


def test_mlflow_models_predict_cli_works_unchanged(trained, week, tmp_path, store):
    forms, _ = week
    source = tmp_path / "input.json"
    payload = {"dataframe_split": {"columns": list(forms.columns),
                                   "data": forms.astype(object).where(forms.notna(), None).head(5).values.tolist()}}
    source.write_text(json.dumps(payload))
    output = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "models", "predict", "-m", "models:/risk@champion", "-i", str(source),
         "-t", "json", "-o", str(output), "--env-manager", "local"],
        capture_output=True, text=True, env={**__import__("os").environ, "MLFLOW_TRACKING_URI": store},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    predictions = pd.DataFrame(json.loads(output.read_text())["predictions"])
    assert predictions["case_id"].tolist() == forms["case_id"].head(5).tolist()
    assert {"risk_8", "risk_13", "risk_22", "risk_52", "status"} <= set(predictions.columns)

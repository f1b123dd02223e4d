"""The registered model through MLflow's own tools answers as the batch does: same risks, same refusals, no CPR.

The pyfunc runs the batch's primitive (``score_chunk``), so a form is refused, masked
and scored alike by ``screening score``, the Python pyfunc, ``mlflow models predict``
and ``mlflow models serve``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from screening.synthetic import simulate_cohort, write_forms

CPR = "010190-1234"
HORIZONS = (8, 13, 22, 52)


@pytest.fixture(scope="module")
def registered(store, tmp_path_factory):
    from screening.registry import train_model

    folder = tmp_path_factory.mktemp("train")
    data = folder / "train.csv"
    write_forms(simulate_cohort(2_500, seed=21, training=True).forms, data)
    return train_model(data, model_dir=folder / "model", family="additive", register="risk")


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """Simulated forms, some broken, and two whose case_id is a CPR number (refused, and never shown in full)."""
    forms = simulate_cohort(60, seed=22, invalid_share=0.1).forms
    forms.loc[3, "case_id"] = CPR
    forms.loc[7, "case_id"] = "0101901234"
    path = tmp_path_factory.mktemp("week") / "week.csv"
    write_forms(forms, path)
    return forms, path


@pytest.fixture(scope="module")
def library(registered, week):
    """What the library says of the week: exact risks of the valid forms, and the ranked list."""
    from screening.intake import validate_file
    from screening.scoring import load_model

    forms, path = week
    model = load_model(registered.model_dir, single_forms=False)
    valid = validate_file(path).valid
    exact = model.estimator.predict_risk(valid)
    exact.index = valid["case_id"].to_numpy()
    return exact, model.score(forms).ranked.set_index("case_id"), validate_file(path)


def assert_answers_as_the_library(answer: pd.DataFrame, forms: pd.DataFrame, library) -> None:
    exact, ranked, validation = library
    assert len(answer) == len(forms)
    shown = answer["case_id"].astype(object).where(answer["case_id"].notna(), None).tolist()
    assert not any(CPR in str(value) or "0101901234" in str(value) for value in shown), shown
    assert shown[3] == "******-****" and shown[7] == "******-****"
    scored = answer[answer["status"] == "scored"]
    assert len(scored) == len(validation.valid) == len(ranked)
    ids = scored["case_id"].to_numpy()
    for h in HORIZONS:
        column = f"risk_{h}"
        np.testing.assert_allclose(scored[column].to_numpy(dtype=float), exact.loc[ids, column].to_numpy(),
                                   rtol=0, atol=1e-9)
        rows = ranked.loc[ids]
        written = (np.where(rows["queue"] == "early", rows["risk"].to_numpy(dtype=float), 1.0) if h == 13
                   else rows[column].to_numpy(dtype=float))  # the ranked list's risk is 13 weeks in the early queue
        assert np.abs(scored[column].to_numpy(dtype=float) - written).max() <= 0.5e-4 + 1e-12  # 4 decimals
    refused = answer[answer["status"] == "refused"]
    assert len(refused) == validation.refused_rows and (refused["refusal"] != "").all()
    assert refused[[f"risk_{h}" for h in HORIZONS]].isna().all().all()
    assert not any(CPR in text for text in refused["refusal"])


def test_the_python_pyfunc_answers_as_the_library(registered, week, library):
    import mlflow

    forms, _ = week
    answer = mlflow.pyfunc.load_model("models:/risk@champion").predict(forms)
    assert_answers_as_the_library(answer, forms, library)


def payload(forms: pd.DataFrame) -> dict:
    return {"dataframe_split": {"columns": list(forms.columns),
                                "data": forms.astype(object).where(forms.notna(), None).values.tolist()}}


def test_mlflow_models_predict_answers_as_the_library(registered, week, library, tmp_path, store):
    forms, _ = week
    source = tmp_path / "input.json"
    source.write_text(json.dumps(payload(forms)))
    output = tmp_path / "out.json"
    done = subprocess.run(
        [sys.executable, "-m", "mlflow", "models", "predict", "-m", "models:/risk@champion", "-i", str(source),
         "-t", "json", "-o", str(output), "--env-manager", "local"],
        capture_output=True, text=True, env={**os.environ, "MLFLOW_TRACKING_URI": store},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answer = pd.DataFrame(json.loads(output.read_text())["predictions"])
    assert_answers_as_the_library(answer, forms, library)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_mlflow_models_serve_answers_as_the_library(registered, week, library, store):
    forms, _ = week
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)  # `mlflow models serve` starts uvicorn by name from PATH
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/risk@champion", "-h", "127.0.0.1",
         "-p", str(port), "--env-manager", "local"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": store, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start: {server.stderr.read()[-2000:]}") from None
                time.sleep(0.5)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=json.dumps(payload(forms)).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read().decode("utf-8")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert CPR not in body and "0101901234" not in body
    answer = pd.DataFrame(json.loads(body)["predictions"])
    assert_answers_as_the_library(answer, forms, library)

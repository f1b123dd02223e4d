"""The analysts' notebooks run top to bottom, headless, against a temporary MLflow store.

The four notebooks in ``notebooks/`` are executed in order with nbclient, each in its own
kernel started from this interpreter, with the working directory at the notebook (as Jupyter
does). Their parameters are injected through environment variables: ``MLFLOW_TRACKING_URI``
points at a temporary SQLite store and ``SCREENING_NB_OUT_DIR`` at a temporary folder, so a test
run never touches the developer's ``mlruns/`` or ``out/``. Any failing cell fails the test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ORDER = ("01_explore_intake.ipynb", "02_train_and_calibrate.ipynb", "03_evaluate_and_promote.ipynb",
         "04_monitor.ipynb")
REGISTERED_NAME = "screening-risk"
CELL_TIMEOUT = 600  # seconds; the whole set takes about two minutes on the project's machine


def _cells(name: str) -> list[dict]:
    return json.loads((NOTEBOOKS / name).read_text("utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_the_notebook_set_is_complete():
    assert sorted(path.name for path in NOTEBOOKS.glob("*.ipynb")) == sorted(ORDER)


@pytest.mark.parametrize("name", ORDER)
def test_notebooks_are_committed_without_outputs(name):
    for cell in _cells(name):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{name}: clear the outputs before committing"
            assert cell.get("execution_count") is None, f"{name}: clear the outputs before committing"


@pytest.mark.parametrize("name", ORDER)
def test_notebooks_open_with_an_introduction_and_a_parameters_cell(name):
    cells = _cells(name)
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# ")
    parameters = [cell for cell in cells if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(parameters) == 1 and parameters[0] is cells[1], f"{name}: the parameters cell comes right after the intro"
    for setting in ("SEED", "HORIZON", "TRACKING_URI", "OUT_DIR"):
        assert re.search(rf"^{setting} = ", _source(cells[1]), re.M), f"{name}: no {setting} parameter"


@pytest.mark.parametrize("name", ORDER)
def test_notebooks_use_only_the_public_api(name):
    code = "\n".join(_source(cell) for cell in _cells(name) if cell["cell_type"] == "code")
    private = re.findall(r"screening(?:\.\w+)*\._\w+", code)
    assert not private, f"{name} uses private modules: {sorted(set(private))}"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run the notebooks in order; returns the executed notebooks, the store URI and the output folder."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        pytest.fail("running the notebooks needs nbclient, nbformat and ipykernel (the 'test' extra)")

    root = tmp_path_factory.mktemp("notebooks")
    store = root / "mlruns"
    store.mkdir()
    uri = f"sqlite:///{store / 'mlflow.db'}"
    # A kernel spec of our own, first on JUPYTER_PATH: the kernel is this interpreter, whatever
    # kernels the machine has installed for its user.
    kernel_dir = root / "jupyter" / "kernels" / "python3"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "screening tests", "language": "python",
    }))
    patch = pytest.MonkeyPatch()
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    patch.setenv("SCREENING_NB_OUT_DIR", str(root / "out"))
    patch.setenv("JUPYTER_PATH", str(root / "jupyter"))
    patch.setenv("IPYTHONDIR", str(root / "ipython"))  # no user start-up files
    patch.delenv("MPLBACKEND", raising=False)  # the notebooks show figures inline
    executed = {}
    try:
        for name in ORDER:
            notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
            client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                    resources={"metadata": {"path": str(NOTEBOOKS)}})
            try:
                client.execute()
            except CellExecutionError as error:
                pytest.fail(f"{name} failed:\n{error}")
            executed[name] = notebook
        yield {"notebooks": executed, "uri": uri, "out": root / "out"}
    finally:
        patch.undo()


@pytest.fixture
def client(executed, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", executed["uri"])
    return MlflowClient(tracking_uri=executed["uri"], registry_uri=executed["uri"])


@pytest.mark.slow
def test_every_cell_of_every_notebook_runs(executed):
    for name, notebook in executed["notebooks"].items():
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert all(cell.execution_count is not None for cell in code), name
        errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
        assert not errors, f"{name}: {errors}"


@pytest.mark.slow
def test_notebooks_show_and_save_real_figures(executed, client):
    for name, notebook in executed["notebooks"].items():
        images = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
                  if "image/png" in output.get("data", {})]
        assert len(images) >= 2, f"{name} shows {len(images)} figures"
    saved = {path.name[:2] for path in (executed["out"] / "figures").glob("*.png")}
    assert saved == {"01", "02", "03", "04"}
    experiment = client.get_experiment_by_name("screening-notebooks")
    runs = client.search_runs([experiment.experiment_id])
    assert {run.data.tags["screening.notebook"] for run in runs} == {Path(name).stem for name in ORDER}
    for run in runs:
        logged = {item.path for item in client.list_artifacts(run.info.run_id, "figures")}
        assert logged and all(path.endswith(".png") for path in logged), run.data.tags["screening.notebook"]


@pytest.mark.slow
def test_training_runs_are_tracked_and_the_champion_loads(executed, client):
    from screening.intake import validate_file
    from screening.registry import load_model_dir, resolve_model_uri

    training = client.search_runs([client.get_experiment_by_name("screening").experiment_id])
    families = sorted(run.data.params["family"] for run in training)
    # Notebook 02: both families compared, then one registered; notebook 03: a candidate; notebook 04: a model
    # retrained on the forms since the population shifted.
    assert len(training) == 5 and {"additive", "boosted"} <= set(families)
    assert all("test_auc" in run.data.metrics for run in training)

    champion = client.get_model_version_by_alias(REGISTERED_NAME, "champion")
    candidate = client.get_model_version(REGISTERED_NAME, "2")
    retrained = client.get_model_version(REGISTERED_NAME, "3")  # notebook 04, promoted only through the guard
    assert candidate.tags["screening.guard"] in {"passed", "refused"}
    assert retrained.tags["screening.guard"] in {"passed", "refused"}
    before = "2" if candidate.tags["screening.guard"] == "passed" else "1"
    assert str(champion.version) == ("3" if retrained.tags["screening.guard"] == "passed" else before)

    loaded = load_model_dir(resolve_model_uri(f"models:/{REGISTERED_NAME}@champion"))
    assert loaded.metadata["family"] in {"additive", "boosted"}
    week = validate_file(executed["out"] / "week_forms.csv").valid
    risks = loaded.estimator.predict_risk(week)
    assert len(risks) == len(week) > 100 and risks.stack().between(0, 1).all()


@pytest.mark.slow
def test_the_monitoring_notebook_flags_the_shift_and_logs_a_linked_run(executed, client):
    experiment = client.get_experiment_by_name("screening-monitoring")
    (run,) = client.search_runs([experiment.experiment_id])
    tags = run.data.tags
    assert tags["screening.retrain_advised"] == "yes" and tags["screening.registered_name"] == REGISTERED_NAME
    assert tags["screening.registered_version"] in {"1", "2"}  # the champion of notebooks 02-03 it watched
    assert min(tags["screening.flagged_periods"].split(",")) >= "2027-09"  # the shift month, never before
    page = executed["out"] / "monitoring.html"
    assert page.is_file() and '<html lang="da">' in page.read_text("utf-8")


@pytest.mark.slow
def test_screening_score_can_use_the_champion(executed, tmp_path):
    environment = {**os.environ, "MLFLOW_TRACKING_URI": executed["uri"]}
    command = [sys.executable, "-m", "screening"]
    if "score" not in subprocess.run([*command, "--help"], capture_output=True, text=True, env=environment).stdout:
        pytest.skip("the 'screening score' command is not part of this checkout yet")
    week = executed["out"] / "week_forms.csv"
    result = subprocess.run(
        [*command, "score", "--model", f"models:/{REGISTERED_NAME}@champion", "--input", str(week),
         "--output", str(tmp_path / "ranked.csv"), "--audit-log", str(tmp_path / "audit.jsonl")],
        capture_output=True, text=True, env=environment, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "ranked.csv").stat().st_size > 0

"""The store is found the same way from any folder; a lookup is fast, and one that fails says where it looked and creates nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from screening.synthetic import simulate_cohort, write_forms

ROOT = Path(__file__).resolve().parents[2]
SCREENING = str(Path(sys.executable).parent / "screening")


@dataclass
class Registered:
    model_dir: Path
    metadata: dict


@pytest.fixture(scope="module")
def registered(store, small_model, tmp_path_factory):
    """A model registered twice under ``risk`` (version 1 champion) in the module's store.

    Logged as ``screening train`` logs it (``log_training_run``), without training again.
    """
    from screening.registry import save_model_dir
    from screening.registry._tracking import log_training_run

    folder = tmp_path_factory.mktemp("models")
    versions = []
    for label in ("a", "b"):
        metadata = {"version": f"store-test-{label}", "horizons": [8, 13, 22, 52], "family": small_model.family_}
        model_dir = save_model_dir(small_model, folder / f"model_{label}", metadata=metadata,
                                   extra_files={"model_card.md": f"# Model card {label}\n"})
        log_training_run(model_dir=model_dir, params={}, metrics={}, artifacts={}, tags={},
                         input_example=simulate_cohort(3, seed=1).forms, register="risk", promote=False,
                         run_name=f"store-test-{label}")
        versions.append(Registered(model_dir=model_dir, metadata=metadata))
    return versions


@pytest.fixture
def week(tmp_path):
    path = tmp_path / "week.csv"
    write_forms(simulate_cohort(30, seed=32).forms, path)
    return path


def files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*"))


def test_the_default_store_is_the_projects_not_the_current_folders(monkeypatch, tmp_path):
    from screening.registry import default_store, tracking_uri

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_store() == ROOT / "mlruns"
    assert tracking_uri() == f"sqlite:///{ROOT / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////somewhere/else.db")
    assert tracking_uri() == "sqlite:////somewhere/else.db"
    assert not any(tmp_path.iterdir())


def test_an_alias_resolves_to_the_directory_mlflow_finds(registered):
    import mlflow

    from screening.registry import promote, resolve_model_uri

    first, second = registered
    found = resolve_model_uri("models:/risk@champion")
    assert (found / "MANIFEST.json").read_bytes() == (first.model_dir / "MANIFEST.json").read_bytes()
    mlflows = Path(mlflow.artifacts.download_artifacts("models:/risk@champion")) / "artifacts" / first.model_dir.name
    assert found == mlflows
    version_2 = resolve_model_uri("models:/risk/2")
    assert (version_2 / "MANIFEST.json").read_bytes() == (second.model_dir / "MANIFEST.json").read_bytes()
    promote("risk", 2)
    try:
        assert resolve_model_uri("models:/risk@champion") == version_2
    finally:
        promote("risk", 1)


def test_load_model_from_the_registry_imports_no_mlflow(registered, store, tmp_path):
    code = ("import sys\nfrom screening.scoring import load_model\n"
            "model = load_model('models:/risk@champion')\n"
            "assert 'mlflow' not in sys.modules and 'sqlalchemy' not in sys.modules, 'MLflow imported'\n"
            "print(model.version)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "MLFLOW_TRACKING_URI": store})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == registered[0].metadata["version"]


def test_score_finds_the_registered_model_from_any_folder(registered, store, week, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([SCREENING, "score", "--model", "models:/risk@champion", "--input", str(week),
                           "--output", "ranked.csv", "--language", "en"],
                          capture_output=True, text=True, cwd=elsewhere, env={**os.environ, "MLFLOW_TRACKING_URI": store})
    assert done.returncode == 0, done.stderr[-2000:]
    assert (elsewhere / "ranked.csv").is_file() and not (elsewhere / "mlflow.db").exists()


@pytest.mark.parametrize(("uri", "words"), [
    ("models:/nosuch@champion", "no registered model 'nosuch' (the store holds risk)"),
    ("models:/risk@nosuch", "model 'risk' has no alias 'nosuch' (its aliases: champion -> version 1)"),
    ("models:/risk/9", "model 'risk' has no version 9"),
])
def test_an_unknown_name_alias_or_version_says_so_in_one_line(registered, store, uri, words):
    from screening.registry import resolve_model_uri

    with pytest.raises(LookupError) as caught:
        resolve_model_uri(uri)
    message = str(caught.value)
    assert words in message and store in message and "MLFLOW_TRACKING_URI" in message and "\n" not in message


def test_a_missing_store_fails_cleanly_from_another_folder_and_creates_nothing(week, tmp_path):
    """As a user would: `score` with a registry URI where nothing was registered, from some other folder."""
    elsewhere, nowhere = tmp_path / "elsewhere", tmp_path / "nowhere"
    elsewhere.mkdir()
    before = files_under(tmp_path)
    for store in (f"sqlite:///{nowhere / 'mlruns' / 'mlflow.db'}", f"sqlite:///{nowhere}/x.db"):
        for command in (["score", "--model", "models:/risk@champion", "--input", str(week), "--output", "ranked.csv"],
                        ["serve", "--model", "models:/risk@champion"],
                        ["evaluate", "--model", "models:/risk@champion", "--data", str(week)]):
            done = subprocess.run([SCREENING, *command], capture_output=True, text=True, cwd=elsewhere,
                                  env={**os.environ, "MLFLOW_TRACKING_URI": store})
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1, done.stderr
            assert "no MLflow store at" in lines[0] and str(nowhere) in lines[0] and "MLFLOW_TRACKING_URI" in lines[0]
            assert "Traceback" not in done.stderr
    assert files_under(tmp_path) == before  # no mlflow.db, no mlruns/, no output anywhere


def test_the_default_store_missing_names_it_and_creates_nothing(monkeypatch, tmp_path):
    from screening import cli
    from screening.registry import _store

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(_store, "default_store", lambda: tmp_path / "project" / "mlruns")
    monkeypatch.chdir(tmp_path)
    from screening.scoring import load_model

    with pytest.raises(LookupError) as caught:
        load_model("models:/screening-risk@champion")
    assert "the project's default store; MLFLOW_TRACKING_URI is not set" in str(caught.value)
    assert str(tmp_path / "project" / "mlruns" / "mlflow.db") in str(caught.value)
    assert cli.main(["serve"]) == 2
    assert not any(tmp_path.iterdir())


def test_a_downloaded_version_is_cached_by_checksum_and_verified(registered, store, monkeypatch, tmp_path):
    """A store whose artifacts are not on this machine: MLflow downloads a version once, then the cache serves it."""
    import mlflow

    from screening.registry import _store, load_model_dir

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(_store, "_local_artifacts", lambda location: None)  # as if on a remote artifact store
    downloads = []
    real = mlflow.artifacts.download_artifacts
    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", lambda **kw: downloads.append(kw) or real(**kw))
    first = _store.resolve_model_uri("models:/risk@champion")
    again = _store.resolve_model_uri("models:/risk@champion")
    assert first == again and len(downloads) == 1
    assert first.parent == _store.cache_root() and first.name == load_model_dir(first).checksum
    (first / "model_card.md").write_text("changed")  # damaged in the cache: fetched again, verified
    assert _store.resolve_model_uri("models:/risk@champion") == first and len(downloads) == 2
    load_model_dir(first)

"""Model directories: round trip, checksums, trust list, library versions, no pickle."""

from __future__ import annotations

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from screening.registry._files import (
    MANIFEST_FILE,
    METADATA_FILE,
    MODEL_FILE,
    SCORER_FILE,
    TRUSTED_TYPES,
    ModelFileError,
    ModelVersionWarning,
    load_model_dir,
    save_model_dir,
    write_manifest,
)


class NotOnTheTrustList:
    """A type no model should contain."""


@pytest.fixture
def model_dir(tmp_path, small_model):
    return save_model_dir(small_model, tmp_path / "model", metadata={"version": "t1"},
                          extra_files={"model_card.md": "# card\n", "plots/x.png": b"\x89PNG"})


def test_round_trip_gives_the_same_risks(model_dir, small_model, scoring_forms):
    loaded = load_model_dir(model_dir)
    pd.testing.assert_frame_equal(loaded.estimator.predict_risk(scoring_forms), small_model.predict_risk(scoring_forms))
    assert loaded.version == "t1" and len(loaded.checksum) == 64
    assert loaded.metadata["library_versions"]["scikit-learn"]


def test_the_model_needs_only_trusted_types(small_model):
    assert set(sio.get_untrusted_types(data=sio.dumps(small_model))) <= set(TRUSTED_TYPES)


@pytest.mark.parametrize("damage", ["change", "truncate", "delete", "add", "swap"])
def test_damaged_model_directories_are_refused(model_dir, tmp_path, small_model, damage):
    target = model_dir / MODEL_FILE
    if damage == "change":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "delete":
        target.unlink()
    elif damage == "add":
        (model_dir / "plots" / "extra.py").write_text("print('hi')")
    elif damage == "swap":
        other = save_model_dir(small_model, tmp_path / "other", metadata={"version": "t2"})
        (model_dir / METADATA_FILE).write_bytes((other / METADATA_FILE).read_bytes())
    with pytest.raises(ModelFileError):
        load_model_dir(model_dir)


def test_a_directory_without_manifest_is_refused(model_dir):
    (model_dir / MANIFEST_FILE).unlink()
    with pytest.raises(ModelFileError, match="MANIFEST"):
        load_model_dir(model_dir)


def test_untrusted_types_are_refused_even_with_a_valid_manifest(model_dir):
    sio.dump({"payload": NotOnTheTrustList()}, model_dir / MODEL_FILE)
    write_manifest(model_dir)
    with pytest.raises(ModelFileError, match="trust list"):
        load_model_dir(model_dir)


def _set_recorded_version(model_dir, library, version):
    metadata = json.loads((model_dir / METADATA_FILE).read_text())
    metadata["library_versions"][library] = version
    (model_dir / METADATA_FILE).write_text(json.dumps(metadata))
    write_manifest(model_dir)


def test_a_patch_version_difference_warns(model_dir):
    _set_recorded_version(model_dir, "pandas", "0.0.1")
    with pytest.warns(ModelVersionWarning, match="pandas 0.0.1"):
        load_model_dir(model_dir)


def test_an_incompatible_scikit_learn_is_refused(model_dir):
    _set_recorded_version(model_dir, "scikit-learn", "1.2.0")
    with pytest.raises(ModelFileError, match="scikit-learn 1.2.0"):
        load_model_dir(model_dir)


def test_loading_never_unpickles(model_dir, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used while loading a model")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelVersionWarning)
        load_model_dir(model_dir)


def test_saving_over_an_existing_model_replaces_it_whole(model_dir, small_model):
    save_model_dir(small_model, model_dir, metadata={"version": "t3"})
    loaded = load_model_dir(model_dir)
    assert loaded.version == "t3"
    assert not (model_dir / "model_card.md").exists()


def test_a_model_scores_forms_with_or_without_outcome_columns(small_model, scoring_forms):
    without = scoring_forms.drop(columns=["absence_weeks", "spell_ended"])
    pd.testing.assert_frame_equal(small_model.predict_risk(without), small_model.predict_risk(scoring_forms))


def test_loading_imports_only_the_scikit_learn_a_model_needs(tmp_path, small_model, scoring_forms):
    """skops' own trust list would import every scikit-learn module (~40 % of a load); ours is explicit.

    Both families load in a fresh interpreter, give the risks they gave before saving, and leave
    modules that only skops' listing of every estimator imports unimported.
    """
    import subprocess
    import sys

    from screening.models import fit_risk_model

    boosted = fit_risk_model(scoring_forms, family="boosted", seed=0, calibration_folds=1)
    for name, model in (("additive", small_model), ("boosted", boosted)):
        directory = save_model_dir(model, tmp_path / name, metadata={"version": name})
        expected = tmp_path / f"{name}.npy"
        np.save(expected, model.predict_risk(scoring_forms).to_numpy())
        forms = tmp_path / "forms.pkl"
        scoring_forms.to_pickle(forms)
        script = (
            "import sys, numpy as np, pandas as pd\n"
            "from screening.registry._files import load_model_dir\n"
            f"model = load_model_dir({str(directory)!r}).estimator\n"
            f"risks = model.predict_risk(pd.read_pickle({str(forms)!r}))\n"
            f"np.testing.assert_allclose(risks.to_numpy(), np.load({str(expected)!r}), rtol=1e-12)\n"
            "walked = [m for m in ('sklearn.neural_network', 'sklearn.gaussian_process', 'sklearn.semi_supervised')"
            " if m in sys.modules]\n"
            "assert not walked, walked\n"
        )
        run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]


def test_an_additive_model_is_saved_with_its_scorer_and_scores_alike_without_scikit_learn(tmp_path, small_model,
                                                                                         scoring_forms):
    """A batch loads the scorer (plain JSON, in the manifest): the fitted model's risks to the bit, and
    neither scikit-learn nor skops imported. Without ``for_scoring`` the fitted model, as always."""
    from tests.conftest import heavy_imports_of

    directory = save_model_dir(small_model, tmp_path / "model", metadata={"version": "s1"})
    assert SCORER_FILE in json.loads((directory / MANIFEST_FILE).read_text())["files"]
    assert type(load_model_dir(directory).estimator).__name__ == "RiskModel"
    expected = tmp_path / "risks.npy"
    np.save(expected, load_model_dir(directory).estimator.predict_risk(scoring_forms).to_numpy())
    forms = tmp_path / "forms.pkl"
    scoring_forms.to_pickle(forms)
    script = (
        "import numpy as np, pandas as pd\n"
        "from screening.registry import load_model_dir\n"
        f"loaded = load_model_dir({str(directory)!r}, for_scoring=True)\n"
        "assert type(loaded.estimator).__name__ == 'RiskScoring' and loaded.version == 's1'\n"
        f"risks = loaded.estimator.predict_risk(pd.read_pickle({str(forms)!r}))\n"
        f"assert np.array_equal(risks.to_numpy(), np.load({str(expected)!r}))\n"
    )
    assert heavy_imports_of(script) == []


def test_a_changed_or_forged_scorer_is_refused(model_dir):
    scorer = model_dir / SCORER_FILE
    scorer.write_text(scorer.read_text().replace('"format":1', '"format":1 '), "utf-8")
    with pytest.raises(ModelFileError, match="scorer.json was changed"):
        load_model_dir(model_dir, for_scoring=True)
    document = json.loads(scorer.read_text())
    document["model"]["object"] = "builtins.eval"
    scorer.write_text(json.dumps(document), "utf-8")
    write_manifest(model_dir)  # someone who rewrites the whole directory: the reader still names no such class
    with pytest.raises(ModelFileError, match="scorer.json: cannot be read .*names no scoring class"):
        load_model_dir(model_dir, for_scoring=True)


def test_a_boosted_model_has_no_scorer_and_loads_as_fitted_for_scoring(tmp_path, boosted_small):
    directory = save_model_dir(boosted_small, tmp_path / "boosted", metadata={"version": "b"})
    assert not (directory / SCORER_FILE).exists()
    assert type(load_model_dir(directory, for_scoring=True).estimator).__name__ == "RiskModel"

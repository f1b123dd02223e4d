"""``screening monitor``: exit status as ``diff`` gives it (0 nothing flagged, 1 flagged, 2 anything else), one line on errors."""

from __future__ import annotations

import pytest

from screening.cli import main
from screening.synthetic import simulate_cohort, write_forms


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stable_year_exits_0(capsys, monitored_model_dir, stable_file):
    code, out, err = run(capsys, "monitor", "--model", str(monitored_model_dir), "--data", str(stable_file),
                         "--bootstrap", "50", "--no-tracking")
    assert code == 0, err
    assert "Intet tyder på, at modellen er kommet ud af kalibrering" in out  # Danish by default
    assert "2027-07" in out and "markeret" not in out.split("råd")[0]


def test_a_shifted_year_exits_1_and_writes_the_page(capsys, monitored_model_dir, shifted_file, tmp_path):
    page = tmp_path / "monitoring.html"
    code, out, err = run(capsys, "monitor", "--model", str(monitored_model_dir), "--data", str(shifted_file),
                         "--bootstrap", "50", "--no-tracking", "--report", str(page), "--language", "en",
                         "--by", "quarter")
    assert code == 1, err
    assert "Retrain the model on recent forms" in out and "flagged (risks too low)" in out
    assert page.is_file() and '<html lang="en">' in page.read_text("utf-8")


def test_a_wider_tolerance_lets_the_same_year_through(capsys, monitored_model_dir, shifted_file):
    code, out, _ = run(capsys, "monitor", "--model", str(monitored_model_dir), "--data", str(shifted_file),
                       "--bootstrap", "50", "--no-tracking", "--by", "quarter", "--tolerance", "0.2",
                       "--language", "en")
    assert code == 0 and "20.0 percentage points" in out


@pytest.mark.parametrize("problem", ["missing", "no_outcomes", "tolerance", "nothing_to_judge", "model"])
def test_file_and_usage_errors_exit_2_in_one_line(capsys, monitored_model_dir, stable_file, tmp_path, problem):
    data, model, extra = str(stable_file), str(monitored_model_dir), []
    if problem == "missing":
        data = str(tmp_path / "nowhere.csv")
    elif problem == "no_outcomes":  # the weekly file, not the training contract
        data = str(tmp_path / "week.csv")
        write_forms(simulate_cohort(200, seed=1).forms, data)
    elif problem == "tolerance":
        extra = ["--tolerance", "3"]
    elif problem == "nothing_to_judge":  # extracted the day after the last form: no outcome can be known yet
        data = str(tmp_path / "fresh.csv")
        write_forms(simulate_cohort(400, seed=2, training=True, window_days=60).forms, data)
    elif problem == "model":
        model = str(tmp_path / "no-model")
    code, out, err = run(capsys, "monitor", "--model", model, "--data", data, "--no-tracking", "--bootstrap", "20",
                         *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("screening: ") and "Traceback" not in err


def test_a_defect_of_ours_exits_2_so_that_1_always_means_flagged(capsys, monkeypatch, monitored_model_dir,
                                                                 stable_file):
    import screening.monitoring

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(screening.monitoring, "monitor", broken)
    code, _, err = run(capsys, "monitor", "--model", str(monitored_model_dir), "--data", str(stable_file),
                       "--no-tracking")
    assert code == 2 and "internal error" in err

"""The command line: summaries, files written, exit codes, and never a traceback for bad input."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from screening.cli import main
from tests.conftest import form


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_then_validate_end_to_end(tmp_path, capsys):
    forms = tmp_path / "week.csv"
    code, out, _ = run(capsys, "simulate", "--rows", "500", "--seed", "3", "--output", str(forms),
                       "--dialect", "danish_excel", "--truth", str(tmp_path / "truth.csv"))
    assert code == 0 and "500" in out
    assert len(pd.read_csv(tmp_path / "truth.csv")) == 500
    code, out, _ = run(capsys, "validate", "--input", str(forms))
    assert code == 0
    assert "læst:     500 skemaer" in out and "gyldige:  500" in out and "tegnsæt 'cp1252'" in out


def test_training_files_validate_with_the_training_flag(tmp_path, capsys):
    forms = tmp_path / "train.parquet"
    assert run(capsys, "simulate", "--rows", "300", "--output", str(forms), "--training")[0] == 0
    code, out, _ = run(capsys, "validate", "--input", str(forms), "--training", "--language", "en")
    assert code == 0 and "valid:    300" in out


def test_simulate_family_window_and_truth_with_the_optimum(tmp_path, capsys):
    from screening.synthetic import simulate_cohort

    forms, truth = tmp_path / "aft.parquet", tmp_path / "truth.csv"
    code, _, _ = run(capsys, "simulate", "--rows", "400", "--seed", "5", "--output", str(forms), "--training",
                     "--family", "aft", "--window-days", "120", "--truth", str(truth))
    assert code == 0
    expected = simulate_cohort(400, seed=5, training=True, family="aft", window_days=120)
    pd.testing.assert_frame_equal(pd.read_parquet(forms).astype("str"), expected.forms)
    written = pd.read_csv(truth, dtype={"case_id": "str"})
    horizons = [c.removeprefix("risk_") for c in written.columns if c.startswith("risk_")]
    assert horizons and written.columns.tolist() == (
        ["case_id"] + [f"risk_{h}" for h in horizons] + [f"optimal_risk_{h}" for h in horizons])
    assert written["risk_13"].to_numpy() == pytest.approx(expected.true_risk["risk_13"].to_numpy())
    # Frailty family: the optimum averages the hidden frailty out, so it differs from the true risk.
    run(capsys, "simulate", "--rows", "400", "--output", str(forms), "--truth", str(truth))
    written = pd.read_csv(truth)
    assert not written["optimal_risk_13"].equals(written["risk_13"])
    for argv, message in ((["--window-days", "0"], "--window-days"), (["--family", "weibull"], "--family")):
        code, _, err = run(capsys, "simulate", "--rows", "10", "--output", str(forms), *argv)
        assert code == 2 and message in err and err.count("\n") == 1


def test_refused_rows_are_summarised_and_written(forms_file, tmp_path, capsys):
    path = forms_file([form(case_id="A", age="12"), form(case_id="B", sex="?"), form(case_id="C")])
    rejects = tmp_path / "refused.csv"
    code, out, _ = run(capsys, "validate", "--input", str(path), "--rejects", str(rejects), "--language", "en")
    assert code == 0
    assert "refused:  2" in out and "age: out of range (out_of_range)" in out and "sex: unknown answer (unknown_code)" in out
    written = pd.read_csv(rejects)
    assert written.columns.tolist() == ["row", "case_id", "column", "value", "reason"]
    assert written["row"].tolist() == [2, 3]


def test_formulas_in_refused_values_are_neutralised(forms_file, tmp_path, capsys):
    path = forms_file([form(case_id="A", sex="=HYPERLINK(\"http://x\")")])
    rejects = tmp_path / "refused.csv"
    run(capsys, "validate", "--input", str(path), "--rejects", str(rejects))
    assert pd.read_csv(rejects)["value"].iloc[0].startswith("'=")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["validate", "--input", "/no/such/file.csv"], "filen findes ikke"),
     (["validate"], "required: --input (see 'screening validate --help')"),
     (["simulate", "--rows", "-3", "--output", "x.csv"], "--rows"),
     (["validate", "--input", "x.csv", "--output", "y.csv"],
      "unrecognized arguments: --output y.csv (see 'screening validate --help')"),
     ([], "(see 'screening --help')"),
     (["score", "--model", "m", "--input", "i.csv", "--ouput", "r.csv"],  # not "required: --output"
      "unrecognized arguments: --ouput (did you mean --output?) (see 'screening score --help')"),
     (["frobnicate"], "invalid choice")],
)
def test_user_errors_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_version_is_one_line(capsys):
    from screening import __version__

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out == f"screening {__version__}\n"


@pytest.mark.parametrize("separator", ["\\t", "tab", "TAB", "\t"])
def test_a_tab_separator_may_be_written_as_backslash_t_or_tab(forms_file, capsys, separator):
    path = forms_file([form(case_id="T1"), form(case_id="T2")], sep="\t")
    code, out, _ = run(capsys, "validate", "--input", str(path), "--separator", separator, "--language", "en")
    assert code == 0 and "valid:    2" in out


@pytest.mark.parametrize("separator", ["", ";;", '"', "ø", "\n"])
def test_a_separator_that_is_not_one_character_is_one_line_and_exit_2(forms_file, capsys, separator):
    path = forms_file([form(case_id="T1")])
    code, _, err = run(capsys, "validate", "--input", str(path), "--separator", separator, "--language", "en")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "the separator must be one character" in err, err


def test_a_summary_read_by_head_stops_quietly(forms_file, tmp_path):
    """``screening validate ... | head -1``: the summary's reader goes away; no "internal error", no traceback."""
    path = forms_file([form(case_id=f"P{i}", age="200" if i % 2 else "40") for i in range(40)])
    command = (f"set -o pipefail; {sys.executable} -m screening validate --input {path} "
               f"--rejects {tmp_path / 'refused.csv'} | head -1")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("læst:") and done.stdout.count("\n") == 1
    assert done.stderr == "" and done.returncode in (0, 141), done.stderr


def test_a_file_level_error_from_the_real_command_has_no_traceback(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(b"\x00\xff" * 100)
    done = subprocess.run([sys.executable, "-m", "screening", "validate", "--input", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == "screening: fejl: filen er binær, ikke en teksttabel (CSV, .xlsx eller Parquet forventes)\n"


@pytest.mark.parametrize(("language", "said"), [([], "screening: fejl: {path}: filen findes ikke\n"),
                                               (["--language", "da"], "screening: fejl: {path}: filen findes ikke\n"),
                                               (["--language", "en"], "screening: error: {path}: no such file\n")])
def test_a_missing_file_is_told_in_the_language_of_the_command(tmp_path, capsys, language, said):
    path = tmp_path / "uge-47.csv"
    code, out, err = run(capsys, "validate", "--input", str(path), *language)
    assert code == 2 and out == ""
    assert err == said.format(path=path)


def test_the_validation_summary_is_danish_by_default_and_english_on_request(tmp_path, capsys):
    from screening.synthetic import simulate_cohort, write_forms

    forms = simulate_cohort(400, seed=21, invalid_share=0.1).forms
    forms.loc[5, "sick_weeks"] = "50,5"  # disagrees with its dates
    forms["notes"] = "x"
    path = tmp_path / "week.csv"
    write_forms(forms, path)
    code, danish, _ = run(capsys, "validate", "--input", str(path), "--rejects", str(tmp_path / "afviste.csv"))
    assert code == 0
    counts = {}
    for line in danish.splitlines():
        if ":" in line and not line.startswith(" "):
            counts[line.split(":", 1)[0]] = line.split(":", 1)[1].strip()
    assert {"læst", "gyldige", "afvist", "tid"} <= set(counts)
    assert int(counts["gyldige"].replace(".", "")) + int(counts["afvist"].replace(".", "")) == 400
    assert "uger sygemeldt (sick_weeks): passer ikke med datoerne (weeks_disagree_with_dates)" in danish
    assert "ukendte kolonner sprunget over: notes" in danish
    assert f"afviste rækker skrevet til {tmp_path / 'afviste.csv'}" in danish
    assert re.search(r"^tid:      \d+,\d\d s$", danish, flags=re.MULTILINE)
    for english in ("read:", "valid:", "refused:", "forms", "time:", "ignored columns"):
        assert english not in danish
    code, english, _ = run(capsys, "validate", "--input", str(path), "--language", "en")
    assert "sick_weeks: disagrees with the dates (weeks_disagree_with_dates)" in english and "uger sygemeldt" not in english
    assert re.search(r"^time:     \d+\.\d\d s$", english, flags=re.MULTILINE)


def test_a_defect_of_ours_is_one_line_without_personal_data(monkeypatch, capsys):
    from screening import cli

    def broken(args):
        raise ValueError("could not convert '010203-1234'\nsecond line")

    monkeypatch.setitem(cli._COMMANDS, "validate", broken)
    monkeypatch.delenv("SCREENING_DEBUG", raising=False)
    code = cli.main(["validate", "--input", "x.csv"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_DEFECT and code != 0
    assert err.count("\n") == 1 and "internal error (ValueError)" in err
    assert "010203" not in err and "Traceback" not in err


def test_ctrl_c_inside_an_extension_import_is_interrupted_not_a_defect(monkeypatch, capsys):
    """pybind11 turns a Ctrl-C in a module's initialisation into ``ImportError`` raised from it (seen in CI)."""
    from screening import cli

    def importing(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as pressed:
            raise ImportError("initialization failed") from pressed

    monkeypatch.setitem(cli._COMMANDS, "validate", importing)
    monkeypatch.setenv("SCREENING_DEBUG", "1")  # not a defect: no traceback even when debugging
    assert cli.main(["validate", "--input", "x.csv"]) == 130
    assert capsys.readouterr().err == "screening: interrupted\n"

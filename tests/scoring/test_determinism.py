"""Same forms and model: the same ranked file, byte for byte, whatever order the rows arrive in."""

from __future__ import annotations

import pandas as pd

from screening.cli import main
from screening.synthetic import write_forms


def _score(capsys, model_dir, path, out):
    code = main(["score", "--model", str(model_dir), "--input", str(path), "--output", str(out),
                 "--capacity", "3", "--per", "jobcenter", "--audit-log", str(out.with_suffix(".jsonl"))])
    capsys.readouterr()
    assert code == 0
    return out.read_bytes()


def test_shuffled_input_gives_a_byte_identical_ranked_list(tmp_path, capsys, model_dir, week):
    forward = tmp_path / "forward.csv"
    shuffled = tmp_path / "shuffled.csv"
    write_forms(week, forward)
    write_forms(week.sample(frac=1.0, random_state=7).reset_index(drop=True), shuffled)
    assert _score(capsys, model_dir, forward, tmp_path / "a.csv") == _score(capsys, model_dir, shuffled, tmp_path / "b.csv")


def test_shuffled_input_refuses_the_same_forms_for_the_same_reasons(tmp_path, capsys, model_dir, week):
    forward = tmp_path / "forward.csv"
    shuffled = tmp_path / "shuffled.csv"
    write_forms(week, forward)
    write_forms(week.iloc[::-1].reset_index(drop=True), shuffled)
    _score(capsys, model_dir, forward, tmp_path / "a.csv")
    _score(capsys, model_dir, shuffled, tmp_path / "b.csv")
    columns = ["case_id", "column", "value", "reason"]
    a = pd.read_csv(tmp_path / "a_refused.csv", dtype=str)[columns].sort_values(columns, ignore_index=True)
    b = pd.read_csv(tmp_path / "b_refused.csv", dtype=str)[columns].sort_values(columns, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)  # only the row numbers differ, as they should

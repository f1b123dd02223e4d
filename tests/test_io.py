"""Output files: whole or not at all, never interleaved, harmless in a spreadsheet."""

from __future__ import annotations

import multiprocessing

import pandas as pd
import pytest

from screening._io import atomic_path, neutralise_formulas, write_csv


def test_a_crash_mid_write_leaves_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "ranked.csv"
    write_csv(pd.DataFrame({"case_id": ["old"]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="power cut"):
        with atomic_path(target) as temporary:
            temporary.write_text("case_id\nhalf-writ")
            raise RuntimeError("power cut")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ranked.csv"]  # no temporary left behind


def test_a_crash_before_the_first_write_leaves_no_file(tmp_path):
    target = tmp_path / "ranked.csv"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target):
            raise KeyboardInterrupt
    assert not target.exists() and not list(tmp_path.iterdir())


def _writer(args: tuple[str, str, int]) -> None:
    path, label, rows = args
    write_csv(pd.DataFrame({"case_id": [f"{label}-{i}" for i in range(rows)], "writer": label}), path)


def test_two_writers_at_once_never_interleave(tmp_path):
    target = tmp_path / "ranked.csv"
    jobs = [(str(target), label, 50_000) for label in ("A", "B")] * 3
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_writer, jobs)
    written = pd.read_csv(target)
    assert len(written) == 50_000 and written["writer"].nunique() == 1
    assert written["case_id"].str.startswith(written["writer"].iloc[0]).all()


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_starts_are_neutralised(value):
    out = neutralise_formulas(pd.DataFrame({"text": [value, "plain"]}))
    assert out["text"].tolist() == ["'" + value, "plain"]


def test_numbers_are_left_alone():
    frame = pd.DataFrame({"risk": [-0.5, 0.25]})
    pd.testing.assert_frame_equal(neutralise_formulas(frame), frame)

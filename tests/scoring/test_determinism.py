"""Same forms and model: the same ranked file, byte for byte, whatever order the rows arrive in."""

from __future__ import annotations

import re

import pandas as pd
import pytest

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


def _outputs(capsys, model_dir, path, folder, *options):
    folder.mkdir()
    out = folder / "ranked.csv"
    code = main(["score", "--model", str(model_dir), "--input", str(path), "--output", str(out),
                 "--report", str(folder / "page.html"), "--audit-log", str(folder / "audit.jsonl"), *options])
    printed = capsys.readouterr().out
    assert code == 0
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no runs or temporary files left
    return {name: (folder / name).read_bytes() for name in ("ranked.csv", "ranked_refused.csv", "page.html")}, printed


def _week_with_trouble(week: pd.DataFrame) -> pd.DataFrame:
    """The first 240 of the week's forms, with an id repeated far apart (other chunks) and one next to itself."""
    week = week.head(240).copy()
    week.loc[len(week) - 1, "case_id"] = week.loc[0, "case_id"]
    week.loc[5, "case_id"] = week.loc[4, "case_id"]
    return week





@pytest.mark.parametrize("options", [[], ["--capacity", "3", "--per", "jobcenter"], ["--capacity", "10"]],
                         ids=["plain", "per-jobcenter", "capacity"])
def test_the_chunk_size_changes_no_byte_of_any_output(tmp_path, capsys, model_dir, week, options):
    path = tmp_path / "week.csv"
    write_forms(_week_with_trouble(week), path)
    whole, printed = _outputs(capsys, model_dir, path, tmp_path / "whole", *options)
    assert "duplicate_case_id" in printed
    for chunk_rows in (3, 50):
        chunked, _ = _outputs(capsys, model_dir, path, tmp_path / f"chunks{chunk_rows}", "--chunk-rows",
                              str(chunk_rows), *options)
        for name in whole:
            assert chunked[name] == whole[name], f"{name} differs with --chunk-rows {chunk_rows}"


@pytest.mark.parametrize("options", [["--capacity", "3", "--per", "jobcenter"], ["--capacity", "10"]],
                         ids=["per-jobcenter", "capacity"])
def test_the_number_of_worker_processes_changes_no_byte_of_any_output(tmp_path, capsys, model_dir, week, options):
    import json

    path = tmp_path / "week.csv"
    write_forms(_week_with_trouble(week), path)
    here, printed = _outputs(capsys, model_dir, path, tmp_path / "here", "--chunk-rows", "50", "--workers", "1",
                             *options)
    assert "duplicate_case_id" in printed  # an id repeated in another chunk, found by another worker
    for workers in (2, 3):
        folder = tmp_path / f"workers{workers}"
        elsewhere, _ = _outputs(capsys, model_dir, path, folder, "--chunk-rows", "50", "--workers", str(workers),
                                *options)
        assert elsewhere == here, f"--workers {workers} changed an output"
        record = json.loads((folder / "audit.jsonl").read_text().splitlines()[-1])
        from screening.scoring._workers import can_fork

        assert record["options"]["workers"] == (workers if can_fork() else 1)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_file_of_several_chunks_is_read_once(tmp_path, capsys, model_dir, week, monkeypatch, workers):
    from screening.intake import ChunkedTable

    path = tmp_path / "week.csv"
    write_forms(_week_with_trouble(week), path)
    once, _ = _outputs(capsys, model_dir, path, tmp_path / "before", "--chunk-rows", "50")

    def read_again(self):
        raise AssertionError("the file was read a second time")

    monkeypatch.setattr(ChunkedTable, "__iter__", read_again)  # the first pass maps its chunks, never iterates
    again, _ = _outputs(capsys, model_dir, path, tmp_path / "after", "--chunk-rows", "50", "--workers", workers)
    assert again == once


def test_a_worker_that_dies_stops_the_run_with_one_line_and_no_output(tmp_path, capsys, model_dir, week, monkeypatch):
    import os

    from screening.scoring import _workers

    if not _workers.can_fork():
        pytest.skip("worker processes are forked on Linux only")

    def killed(*args, **kwargs):  # as the kernel's out-of-memory killer would end a worker
        os._exit(137)

    monkeypatch.setattr(_workers, "score_one_chunk", killed)  # the forked workers inherit it
    path = tmp_path / "week.csv"
    write_forms(week.head(200), path)
    out = tmp_path / "out"
    out.mkdir()
    code = main(["score", "--model", str(model_dir), "--input", str(path), "--output", str(out / "ranked.csv"),
                 "--chunk-rows", "50", "--workers", "2", "--audit-log", str(out / "audit.jsonl")])
    captured = capsys.readouterr()
    assert code == 2
    message = captured.err.strip()
    assert len(message.splitlines()) == 1 and "Traceback" not in captured.err
    assert "arbejdsprocesser" in message and "--workers 1" in message
    assert list(out.iterdir()) == []  # nothing written, not even the audit line


def test_a_malformed_record_changes_no_byte_of_the_other_forms_outputs_whatever_the_chunk_size(
        tmp_path, capsys, model_dir, week):
    path = tmp_path / "week.csv"
    write_forms(week.head(240), path)
    lines = path.read_text("utf-8").split("\n")
    lines[len(lines) // 2] += ',"an unclosed quote'  # read line by line from here on
    path.write_text("\n".join(lines), "utf-8")
    whole, printed = _outputs(capsys, model_dir, path, tmp_path / "whole", "--capacity", "5")
    assert "unbalanced_quote" in printed or "malformed_row" in printed
    chunked, _ = _outputs(capsys, model_dir, path, tmp_path / "chunks", "--capacity", "5", "--chunk-rows", "9")
    assert chunked == whole


def test_the_library_and_the_command_rank_alike(tmp_path, capsys, model_dir, week):
    from screening.scoring import load_model
    from screening.scoring._output import ranked_bytes

    path = tmp_path / "week.csv"
    write_forms(week, path)
    chunked, _ = _outputs(capsys, model_dir, path, tmp_path / "chunks", "--capacity", "4", "--chunk-rows", "300")
    library = load_model(model_dir).score(pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None),
                                          capacity=4)
    assert ranked_bytes(library.ranked) == chunked["ranked.csv"]


@pytest.mark.parametrize("per", [None, "jobcenter"])
def test_the_page_of_a_streamed_batch_is_the_page_of_the_whole_table(tmp_path, capsys, model_dir, week, monkeypatch,
                                                                       per):
    """With few rows allowed on the page, the first rows kept while merging are the ones the page shows."""
    import screening.scoring._page as page_module
    from screening.scoring import load_model

    monkeypatch.setattr(page_module, "MAX_ROWS", 20)
    path = tmp_path / "week.csv"
    forms = week.head(240)
    write_forms(forms, path)
    options = ["--capacity", "2"] + (["--per", per] if per else [])
    streamed, _ = _outputs(capsys, model_dir, path, tmp_path / "chunks", "--chunk-rows", "30", *options)
    result = load_model(model_dir).score(pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None),
                                         capacity=2, per=per)
    whole = page_module.render_page(result, language="da", input_name="week.csv", output_name="ranked.csv",
                                    rejects_name="ranked_refused.csv")
    shown = re.findall(r'<tr data-order="\d+"[^>]*>.*?</tr>', streamed["page.html"].decode("utf-8"))
    expected = re.findall(r'<tr data-order="\d+"[^>]*>.*?</tr>', whole)
    assert shown == expected and 0 < len(shown) <= 20

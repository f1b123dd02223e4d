"""`screening spark-score`: a file or folder of forms in any dialect the reader accepts, Parquet out, as `score` ranks.

Run in this process (the command uses the session that runs already), once as
`spark-submit` would run it, and on the files `screening score` reads: a Danish
Excel CSV with a malformed record and a blank line, a folder of CSV files with
ids repeated across files, typed Parquet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from screening.intake import TEXT_DTYPE, read_table
from screening.synthetic import write_forms
from tests.spark.conftest import week_of_forms

ROOT = Path(__file__).resolve().parents[2]


def parquet_folder(path: Path) -> pd.DataFrame:
    """A Parquet folder Spark wrote, in the order of its part files (the order of the ranked list)."""
    table = pq.read_table(path)
    return table.to_pandas(types_mapper={pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE,
                                         pa.bool_(): pd.BooleanDtype()}.get)


def assert_written_as_the_library(output: Path, expected) -> None:
    ranked = parquet_folder(output / "ranked")
    pd.testing.assert_frame_equal(ranked, expected.ranked.reset_index(drop=True), check_dtype=False)
    refused = parquet_folder(output / "refused")
    pd.testing.assert_frame_equal(refused, expected.refused.reset_index(drop=True), check_dtype=False)
    summary = json.loads((output / "summary.json").read_text("utf-8"))
    assert summary["scored"] == expected.summary["scored"] and summary["refused"] == expected.summary["refused"]
    assert summary["refused_by_reason"] == expected.summary["refused_by_reason"]


@pytest.fixture(scope="module")
def danish_file(tmp_path_factory) -> Path:
    """A Danish Excel CSV (Windows-1252, `;`, decimal comma) with a malformed record and a blank line in it."""
    path = tmp_path_factory.mktemp("danish") / "uge47.csv"
    write_forms(week_of_forms(900, seed=7), path, dialect="danish_excel")
    lines = path.read_bytes().split(b"\r\n")
    lines.insert(40, b"X-1;Aarhus;too;few")
    lines.insert(60, b"")
    path.write_bytes(b"\r\n".join(lines))
    return path


def test_a_danish_excel_csv_is_read_scored_and_written_as_score_does(spark, spark_model_dir, spark_model,
                                                                     danish_file, tmp_path, capsys):
    from screening.cli import main

    output = tmp_path / "out"
    code = main(["spark-score", "--model", str(spark_model_dir), "--input", str(danish_file), "--output", str(output),
                 "--capacity", "5", "--per", "jobcenter", "--partitions", "3", "--chunk-rows", "200"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    expected = spark_model.score_table(read_table(danish_file), capacity=5, per="jobcenter")
    assert_written_as_the_library(output, expected)
    refused = parquet_folder(output / "refused")
    assert {"malformed_row"} <= set(refused["kind"])  # a record the reader could not split, with its row
    assert "skemaer" in printed.out and "cp1252" in printed.out and "afvist:" in printed.out


def test_a_folder_of_files_is_one_input_with_ids_repeated_across_files(spark, spark_model_dir, spark_model,
                                                                       tmp_path, capsys):
    from screening.cli import main

    forms = week_of_forms(1200, seed=8)
    folder = tmp_path / "uger"
    folder.mkdir()
    parts = [forms.iloc[:500], forms.iloc[500:800], forms.iloc[800:]]
    shared = parts[0]["case_id"].iloc[3]
    parts[2] = parts[2].copy()
    parts[2].iloc[7, parts[2].columns.get_loc("case_id")] = shared  # the same id in the first and the last file
    for number, part in enumerate(parts):
        write_forms(part, folder / f"uge{number}.csv")
    output = tmp_path / "out"
    assert main(["spark-score", "--model", str(spark_model_dir), "--input", str(folder),
                 "--output", str(output)]) == 0, capsys.readouterr().err
    expected = spark_model.score(pd.concat(parts, ignore_index=True))
    ranked = parquet_folder(output / "ranked")
    pd.testing.assert_frame_equal(ranked, expected.ranked, check_dtype=False)
    refused = parquet_folder(output / "refused")
    copies = refused[(refused["case_id"] == shared) & (refused["kind"] == "duplicate_case_id")]
    assert copies[["file", "row"]].values.tolist() == [["uge0.csv", 5], ["uge2.csv", 9]]  # rows in their own files
    assert len(refused.drop_duplicates(["file", "row"])) == expected.summary["refused"]


def test_typed_parquet_is_read_as_the_reader_reads_it(spark, spark_model_dir, spark_model, tmp_path, capsys):
    from screening.cli import main

    forms = week_of_forms(800, seed=9)
    typed = forms.copy()
    typed["age"] = pd.to_numeric(typed["age"], errors="coerce")
    typed["sick_weeks"] = pd.to_numeric(typed["sick_weeks"].str.replace(",", "."), errors="coerce")
    typed["form_received"] = pd.to_datetime(typed["form_received"], errors="coerce", format="%Y-%m-%d")
    path = tmp_path / "week.parquet"
    typed.to_parquet(path, index=False)
    output = tmp_path / "out"
    (output / "ranked").mkdir(parents=True)  # an earlier run's output: replaced whole
    (output / "ranked" / "part-old.parquet").write_bytes(b"old")
    assert main(["spark-score", "--model", str(spark_model_dir), "--input", str(path), "--output", str(output),
                 "--partitions", "4", "--language", "en"]) == 0
    assert "refused:" in capsys.readouterr().out
    assert not (output / "ranked" / "part-old.parquet").exists()
    assert_written_as_the_library(output, spark_model.score_table(read_table(path), language="en"))
    (output / "notes.txt").write_text("not ours")  # a folder with other files is never written into
    assert main(["spark-score", "--model", str(spark_model_dir), "--input", str(path), "--output", str(output),
                 "--language", "en"]) == 2
    assert "is not an earlier spark-score folder" in capsys.readouterr().err


def test_file_errors_are_one_line_and_nothing_is_written(spark, spark_model_dir, tmp_path, capsys):
    from screening.cli import main

    output = tmp_path / "out"
    assert main(["spark-score", "--model", str(spark_model_dir), "--input", str(tmp_path / "missing.csv"),
                 "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "findes ikke" in err and "Traceback" not in err
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id;jobcenter\nA-1;Aarhus\n", encoding="utf-8")
    assert main(["spark-score", "--model", str(spark_model_dir), "--input", str(bad), "--output", str(output),
                 "--language", "en"]) == 2
    err = capsys.readouterr().err
    assert "required column missing" in err and err.count("\n") == 1
    assert not output.exists()


def test_spark_submit_runs_the_command(spark, spark_model_dir, spark_model, danish_file, tmp_path):
    """The README's spark-submit line: the package's __main__.py as the application, the command after it."""
    output = tmp_path / "out"
    submit = Path(sys.executable).with_name("spark-submit")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    done = subprocess.run(
        [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         str(ROOT / "screening" / "__main__.py"), "spark-score", "--model", str(spark_model_dir),
         "--input", str(danish_file), "--output", str(output), "--language", "en"],
        capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "scored:" in done.stdout
    assert_written_as_the_library(output, spark_model.score_table(read_table(danish_file), language="en"))

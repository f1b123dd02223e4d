"""screening.spark.score gives what the library gives on the same forms, however Spark partitions them.

The forms carry every trap of a real week: refused rows, ids repeated next to each
other and far apart (in other partitions), a blank row, a CPR number as an id,
forms without a jobcenter. Ranked list (ranks, risks to 1e-9, queues, priorities,
reasons, contact marks), refused rows and summary must be the library's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.spark.conftest import CPR, assert_same_result, collected, in_partitions


@pytest.mark.parametrize("partitions", [1, 4, 16])
def test_spark_scores_refuses_and_ranks_as_the_library(spark, spark_model_dir, spark_model, week, partitions):
    from screening.spark import score

    result = score(in_partitions(spark, week, partitions), model=spark_model_dir)
    try:
        assert_same_result(result, spark_model.score(week))
        refused = collected(result.refused)
        assert result.summary["refused"] > 50 and result.summary["blank_rows"] == 1
        far = week.loc[10:21, "case_id"].tolist()  # repeated in the first and the last partition
        assert set(far) <= set(refused.loc[refused["kind"] == "duplicate_case_id", "case_id"])
        assert not refused["case_id"].astype(str).str.contains(CPR).any()
    finally:
        result.unpersist()


def test_capacity_marks_and_ranks_per_jobcenter_are_the_library_s(spark, spark_model_dir, spark_model, week):
    from screening.spark import score

    result = score(in_partitions(spark, week, 4), model=spark_model_dir, capacity=7, per="jobcenter")
    try:
        expected = spark_model.score(week, capacity=7, per="jobcenter")
        assert_same_result(result, expected)
        ranked = collected(result.ranked)
        assert ranked["jobcenter"].isna().any()  # forms without a jobcenter: a group of their own, last
        assert result.summary["contacts"] == int(ranked["contact_this_week"].sum()) == expected.summary["contacts"]
    finally:
        result.unpersist()


def test_capacity_over_all_forms_in_many_chunks_and_many_sorted_partitions(spark, spark_model_dir, spark_model,
                                                                           week, monkeypatch):
    from screening.spark import _score, score

    monkeypatch.setattr(_score, "SORT_ROWS", 100)  # the ranked forms sorted into 15 partitions, ranked by offsets
    result = score(in_partitions(spark, week, 3), model=spark_model, capacity=40, chunk_rows=150, language="en")
    try:
        assert_same_result(result, spark_model.score(week, capacity=40, language="en"))
        ranked = collected(result.ranked)
        early = ranked[ranked["queue"] == "early"]
        assert early["rank"].tolist() == list(range(1, len(early) + 1))  # one order over all partitions
        assert ranked["contact_this_week"].sum() == 40
    finally:
        result.unpersist()


def test_typed_columns_read_as_the_library_reads_a_typed_table(spark, spark_model_dir, spark_model, week):
    from screening.spark import score

    typed = week.copy()
    typed["age"] = pd.to_numeric(typed["age"], errors="coerce").astype("Int64")  # refused ages become blanks
    typed["weekly_hours"] = pd.to_numeric(typed["weekly_hours"].str.replace(",", "."), errors="coerce")
    typed["form_received"] = pd.to_datetime(typed["form_received"], errors="coerce", format="%Y-%m-%d").dt.date
    result = score(in_partitions(spark, typed, 4), model=spark_model_dir)
    try:
        assert_same_result(result, spark_model.score(typed))
    finally:
        result.unpersist()


def test_row_numbers_can_come_from_a_column(spark, spark_model_dir, spark_model, week):
    from screening.spark import score

    numbered = week.assign(line=np.arange(100, 100 + len(week)))
    result = score(in_partitions(spark, numbered, 4), model=spark_model_dir, row_numbers="line")
    try:
        refused, expected = collected(result.refused), spark_model.score(week).refused
        assert refused["row"].tolist() == (expected["row"] + 98).tolist()
    finally:
        result.unpersist()


def test_a_missing_column_or_jobcenter_is_refused_on_the_driver(spark, spark_model_dir, week):
    from screening.intake import FileError
    from screening.spark import score

    with pytest.raises(FileError) as caught:
        score(in_partitions(spark, week.drop(columns="age"), 2), model=spark_model_dir)
    assert caught.value.kind == "missing_columns"
    with pytest.raises(FileError) as caught:
        score(in_partitions(spark, week.drop(columns="jobcenter"), 2), model=spark_model_dir, per="jobcenter")
    assert caught.value.kind == "no_jobcenter_column"
    with pytest.raises(ValueError, match="capacity"):
        score(in_partitions(spark, week, 2), model=spark_model_dir, capacity=-1)


def test_the_workers_verify_the_model_they_were_shipped(spark, spark_model_dir, week, tmp_path):
    """A worker's copy that does not match its manifest is refused there, with a one-line error on the driver."""
    from pyspark import SparkFiles

    from screening.registry import ModelFileError, load_model_dir, save_model_dir
    from screening.scoring import load_model
    from screening.spark import score

    from screening.spark._ship import _SHIPPED, ship_model

    loaded = load_model_dir(spark_model_dir)
    other = save_model_dir(loaded.estimator, tmp_path / "other", metadata={**loaded.metadata, "version": "other"})
    model = load_model(other, single_forms=False)  # verified on the driver
    shipped = ship_model(spark, model)
    # The shipped copy changed after it was loaded on the driver (Spark itself only checks that its own copies agree).
    for copy in (_SHIPPED[(spark.sparkContext.applicationId, model.checksum)], Path(SparkFiles.get(shipped.name))):
        with open(copy / "model.skops", "ab") as handle:
            handle.write(b"tampered")
    with pytest.raises(ModelFileError, match="model.skops"):
        score(in_partitions(spark, week.head(50), 2), model=model)
    assert Path(SparkFiles.get(shipped.name)) != other  # the workers loaded their own copy


@pytest.fixture(scope="module")
def big_week() -> pd.DataFrame:
    from tests.spark.conftest import week_of_forms

    return week_of_forms(100_000, seed=31)


@pytest.mark.slow
@pytest.mark.parametrize("partitions", [1, 4, 16])
def test_100_000_forms_score_as_the_library_in_any_partitioning(spark, spark_model_dir, spark_model, big_week,
                                                                 partitions):
    from screening.spark import score

    result = score(in_partitions(spark, big_week, partitions), model=spark_model_dir, capacity=50, per="jobcenter")
    try:
        assert_same_result(result, spark_model.score(big_week, capacity=50, per="jobcenter"))
    finally:
        result.unpersist()

"""A local Spark session (two cores, few shuffle partitions, no UI), a saved model, and forms with every trap.

Spark's local mode needs a Java runtime; without one these tests are skipped, saying so.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from screening.intake import TEXT_DTYPE, RawTable, validate_table
from screening.synthetic import simulate_cohort

NO_JAVA = ("Java is not installed: Spark's local mode needs a Java 17 runtime "
           "(scripts/test.sh installs Debian's openjdk-17-jre-headless)")
#: A CPR-shaped case id: refused, and never shown whole.
CPR = "010190-1234"


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        pytest.skip(NO_JAVA)
    from screening.spark import session

    spark = session(master="local[2]", app_name="screening-tests",
                    config={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2",
                            "spark.ui.enabled": "false", "spark.driver.memory": "2g"})
    yield spark
    spark.stop()


@pytest.fixture(scope="session")
def spark_model_dir(tmp_path_factory) -> Path:
    """An additive model saved and checksummed as ``screening train`` saves one."""
    from screening.features import drift_reference
    from screening.models import fit_risk_model
    from screening.registry import save_model_dir

    cohort = simulate_cohort(2000, seed=11, training=True)
    training = validate_table(RawTable(cohort.forms, np.arange(2, 2002)), training=True).valid
    model = fit_risk_model(training, family="additive", seed=0)
    metadata = {"version": "spark-test-1", "horizons": [8, 13, 22, 52], "family": model.family_,
                "drift_reference": drift_reference(training)}
    return save_model_dir(model, tmp_path_factory.mktemp("spark-models") / "additive", metadata=metadata)


@pytest.fixture(scope="session")
def spark_model(spark_model_dir):
    from screening.scoring import load_model

    return load_model(spark_model_dir, single_forms=False)


def week_of_forms(rows: int, *, seed: int) -> pd.DataFrame:
    """Simulated forms (text, eight jobcenters), 5 % with a defect the validator refuses (adjacent repeated ids
    among them), ids repeated far apart (so in other partitions), a blank row, a CPR number as an id, and forms
    without a jobcenter."""
    forms = simulate_cohort(rows, seed=seed, invalid_share=0.05).forms
    last = len(forms)
    forms.loc[last - 12:last - 1, "case_id"] = forms.loc[10:21, "case_id"].to_numpy()  # first and last partitions
    forms.loc[rows // 2, :] = pd.NA  # a blank row
    forms.loc[rows // 3, "case_id"] = CPR
    forms.loc[rows // 4:rows // 4 + 5, "jobcenter"] = pd.NA
    return forms.astype(TEXT_DTYPE)


@pytest.fixture(scope="session")
def week() -> pd.DataFrame:
    return week_of_forms(1500, seed=5)


def in_partitions(spark, forms: pd.DataFrame, partitions: int):
    """The forms as a Spark DataFrame of ``partitions`` partitions, rows in the same order."""
    table = pa.Table.from_pandas(forms, preserve_index=False).append_column(
        "_position", pa.array(np.arange(len(forms), dtype=np.int64)))
    frame = spark.createDataFrame(table)
    return frame.repartitionByRange(partitions, "_position").sortWithinPartitions("_position").drop("_position")


def collected(frame) -> pd.DataFrame:
    """A Spark DataFrame as the library's pandas tables hold it (text as Arrow strings, contact as boolean)."""
    return frame.toArrow().to_pandas(types_mapper={pa.string(): TEXT_DTYPE, pa.large_string(): TEXT_DTYPE,
                                                   pa.bool_(): pd.BooleanDtype()}.get)


def assert_same_result(spark_result, library_result) -> None:
    """Spark's ranked list, refused rows and summary are the library's: risks to 1e-9, everything else equal."""
    ranked, expected = collected(spark_result.ranked), library_result.ranked
    assert list(ranked.columns) == list(expected.columns)
    risks = [name for name in expected.columns if name.startswith("risk")]
    np.testing.assert_allclose(ranked[risks].to_numpy(dtype=float), expected[risks].to_numpy(dtype=float),
                               rtol=0, atol=1e-9, equal_nan=True)
    pd.testing.assert_frame_equal(ranked, expected.reset_index(drop=True), check_dtype=False)
    assert ranked.dtypes.astype(str).tolist() == expected.dtypes.astype(str).tolist()
    refused = collected(spark_result.refused)
    pd.testing.assert_frame_equal(refused, library_result.refused.reset_index(drop=True), check_dtype=False)
    shown = {key: value for key, value in spark_result.summary.items() if not key.startswith("seconds")}
    assert shown == {key: value for key, value in library_result.summary.items() if not key.startswith("seconds")}

"""MLflow's own Spark path agrees: ``mlflow.pyfunc.spark_udf`` on the registered champion gives the risks
``screening.spark.score`` ranks by, form by form.

The UDF answers each row where it stands (a struct of the risks); it scores each
Arrow batch on its own, so it is given forms without repeated ids (finding those
across a whole input is what ``screening.spark.score`` is for).
"""

from __future__ import annotations

import numpy as np
import pytest

from screening.intake import forms_table
from screening.synthetic import simulate_cohort, write_forms
from tests.spark.conftest import collected, in_partitions

HORIZONS = (8, 13, 22, 52)


@pytest.fixture(scope="module")
def champion(store, tmp_path_factory):
    from screening.registry import train_model

    folder = tmp_path_factory.mktemp("train")
    data = folder / "train.csv"
    write_forms(simulate_cohort(1_200, seed=21, training=True).forms, data)
    return train_model(data, model_dir=folder / "model", family="additive", register="spark-risk")


def test_spark_udf_of_the_champion_gives_the_risks_spark_score_ranks_by(spark, champion, store):
    import mlflow
    from pyspark.sql import functions as F

    from screening.scoring import load_model, score_chunk
    from screening.spark import score

    forms = simulate_cohort(600, seed=23, invalid_share=0.05).forms
    forms = forms.drop_duplicates("case_id").reset_index(drop=True)
    frame = in_partitions(spark, forms, 3)
    udf = mlflow.pyfunc.spark_udf(spark, "models:/spark-risk@champion", env_manager="local",
                                  result_type=", ".join(f"risk_{h} double" for h in HORIZONS))
    # The model declares no input columns (its validation reads them by name): the forms go in as one struct.
    answers = collected(frame.select(F.col("case_id"), udf(F.struct(*forms.columns)).alias("risk"))
                        .select("case_id", *(F.col(f"risk.risk_{h}").alias(f"risk_{h}") for h in HORIZONS)))
    assert len(answers) == len(forms)

    result = score(frame, model="models:/spark-risk@champion")
    try:
        ranked = collected(result.ranked).set_index("case_id")
        scored = answers[answers["risk_13"].notna()].set_index("case_id")
        assert sorted(scored.index) == sorted(ranked.index)  # the same forms scored, the same refused
        model = load_model(champion.model_dir, single_forms=False)
        exact = score_chunk(model, forms_table(forms))
        exact_risks = dict(zip(exact.run.column("case_id").to_pylist(), exact.risks))
        ids = scored.index.tolist()
        for k, h in enumerate(model.horizons):
            from_udf = scored[f"risk_{h}"].to_numpy(dtype=float)
            np.testing.assert_allclose(from_udf, [exact_risks[i][k] for i in ids], rtol=0, atol=1e-9)
            written = np.rint(from_udf * 10_000) / 10_000  # the ranked list writes 4 decimals
            if h == 13:  # the ranked list's risk: 13 weeks in the early queue
                early = (ranked.loc[ids, "queue"] == "early").to_numpy()
                np.testing.assert_array_equal(written[early], ranked.loc[ids, "risk"].to_numpy(dtype=float)[early])
            else:
                np.testing.assert_array_equal(written, ranked.loc[ids, f"risk_{h}"].to_numpy(dtype=float))
    finally:
        result.unpersist()

"""The weekly batch on Spark in local mode, beside the single-machine engine, on the same forms.

What is measured, as the commands a user runs (wall time and peak memory of the
largest process, GNU time):

1. A Parquet file of ``--rows`` simulated forms (default 10,000,000; parts of
   1,000,000 with seeds 1, 2, ..., 1 % of forms with a defect, case ids prefixed
   per part, plus 1,000 forms of the first part copied into the last so that ids
   repeated far apart must be found), written once under ``benchmarks/data/``.
2. ``screening score`` on it (the single-machine engine: chunks of 250,000,
   a k-way merge), writing a CSV.
3. ``screening spark-score`` on it with ``--master local[2]`` (this machine's two
   cores), writing Parquet.
4. The two ranked lists compared: the same forms in the same order with the same
   ranks, and the same number of refused forms.

Throughput per core is forms / seconds / 2 for both (each uses the two cores).

    python benchmarks/bench_spark.py [--rows 10000000] [--driver-memory 6g] [--skip-single]

Results go to ``benchmarks/results/spark.json`` (``spark_<rows>.json`` for other sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from _common import DATA, PYTHON, measure, save

PART_ROWS = 1_000_000
COPIED = 1_000
CORES = 2


def forms_parquet(rows: int) -> Path:
    """The benchmark's forms in one Parquet file (text columns, as ``screening simulate`` writes them)."""
    from screening.synthetic import simulate_cohort

    path = DATA / f"spark_forms_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    parts = max(rows // PART_ROWS, 1)
    part_rows = min(rows, PART_ROWS)
    temporary = path.with_suffix(".partial")
    writer = copied = None
    for part in range(1, parts + 1):
        forms = simulate_cohort(part_rows, seed=part, invalid_share=0.01).forms.astype("str")
        table = pa.Table.from_pandas(forms, preserve_index=False)
        ids = pc.utf8_replace_slice(table.column("case_id"), 0, 0, f"P{part:02d}-")
        table = table.set_column(table.schema.get_field_index("case_id"), "case_id", ids)
        if part == 1:
            copied = table.slice(part_rows // 2, COPIED)
        if part == parts and parts > 1:
            table = pa.concat_tables([table, copied])
        writer = writer or pq.ParquetWriter(str(temporary), table.schema)
        writer.write_table(table, row_group_size=250_000)
        print(f"  part {part}/{parts} written", flush=True)
    writer.close()
    temporary.rename(path)
    return path


def model_directory() -> Path:
    from bench_scoring import trained_model

    model_dir, _ = trained_model("additive", 30_000)
    return model_dir


def single(model_dir: Path, forms: Path, out: Path) -> dict[str, object]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    command = [PYTHON, "-m", "screening", "score", "--model", str(model_dir), "--input", str(forms),
               "--output", str(out / "ranked.csv"), "--audit-log", str(out / "audit.jsonl")]
    return measure(command)


def on_spark(model_dir: Path, forms: Path, out: Path, *, driver_memory: str, partitions: int | None
             ) -> dict[str, object]:
    shutil.rmtree(out, ignore_errors=True)
    command = [PYTHON, "-m", "screening", "spark-score", "--model", str(model_dir), "--input", str(forms),
               "--output", str(out), "--master", f"local[{CORES}]", "--driver-memory", driver_memory]
    command += ["--partitions", str(partitions)] if partitions else []
    env = {**os.environ, "PYSPARK_PYTHON": PYTHON}
    result = measure(command, env=env)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    return {**result, "steps": summary.get("seconds_by_step"), "scored": summary["scored"],
            "refused": summary["refused"], "rows_read": summary["rows_read"]}


def same_ranked_list(csv_path: Path, parquet_folder: Path) -> dict[str, object]:
    columns = ["rank", "case_id", "queue", "risk"]
    expected = pacsv.read_csv(csv_path, convert_options=pacsv.ConvertOptions(
        include_columns=columns, column_types={"case_id": pa.string(), "queue": pa.string()}))
    got = pq.read_table(parquet_folder, columns=columns)
    same = (expected.num_rows == got.num_rows
            and all(pc.all(pc.equal(expected.column(name).cast(got.schema.field(name).type),
                                    got.column(name))).as_py() for name in ("rank", "case_id", "queue")))
    return {"rows": got.num_rows, "identical_order_and_ranks": bool(same)}


def per_core(rows: int, seconds: float) -> int:
    return round(rows / seconds / CORES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--partitions", type=int, help="spark-score --partitions (default: as Spark reads the file)")
    parser.add_argument("--skip-single", action="store_true", help="measure Spark only")
    args = parser.parse_args()
    model_dir = model_directory()
    forms = forms_parquet(args.rows)
    rows = pq.ParquetFile(forms).metadata.num_rows
    out = DATA / "spark_out"
    result: dict[str, object] = {"rows": rows, "file_mb": round(forms.stat().st_size / 2**20, 1),
                                 "cores": CORES, "driver_memory": args.driver_memory}
    print(f"spark-score on {rows:,} forms", flush=True)
    spark = on_spark(model_dir, forms, out / "spark", driver_memory=args.driver_memory, partitions=args.partitions)
    result["spark"] = {**spark, "seconds": round(spark["seconds"], 1), "peak_mb": round(spark["peak_mb"]),
                       "forms_per_second_per_core": per_core(rows, spark["seconds"])}
    if not args.skip_single:
        print(f"score on {rows:,} forms", flush=True)
        alone = single(model_dir, forms, out / "single")
        result["single_machine"] = {"seconds": round(alone["seconds"], 1), "peak_mb": round(alone["peak_mb"]),
                                    "forms_per_second_per_core": per_core(rows, alone["seconds"])}
        result["spark_to_single_time_ratio"] = round(spark["seconds"] / alone["seconds"], 2)
        result["agreement"] = same_ranked_list(out / "single" / "ranked.csv", out / "spark" / "ranked")
    result["command"] = f"python benchmarks/bench_spark.py --rows {args.rows} --driver-memory {args.driver_memory}"
    print(save("spark" if args.rows == 10_000_000 else f"spark_{args.rows}", result).read_text())


if __name__ == "__main__":
    main()

"""Bounded memory at any size: ``screening score`` on a 10,000,000-row CSV, streamed in chunks.

What is measured, as the command a user runs:

1. A 10,000,000-form CSV (~1 GB) is assembled from ten simulated 1,000,000-form
   files (seeds 1..10, 1 % of forms with a defect; case ids prefixed per part so
   they stay unique), plus 1,000 forms of part 1 copied into part 10 so that
   ids repeated far apart (in other chunks) must be found and refused.
2. ``screening score`` on it with the default chunk size: wall time and peak
   resident memory (GNU time). Goal: peak under 3 GB.
3. The same command on the first 1,000,000 forms, for the time per form at both
   sizes (streaming should scale linearly) and the memory at both sizes (it
   should barely grow).
4. Every form accounted for: rows in the ranked list + refused forms = forms in.

    python benchmarks/bench_streaming.py [--rows 10000000] [--chunk-rows 250000]

Results go to ``benchmarks/results/streaming.json``. The assembled file stays
under ``benchmarks/data/`` (ignored by git).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from _common import DATA, PYTHON, measure, save, simulated_csv

PART_ROWS = 1_000_000
COPIED = 1_000


def _read_text(path: Path) -> pa.Table:
    names = next(csv.reader(path.open(encoding="utf-8")))
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={name: pa.string() for name in names}, strings_can_be_null=True))


def big_csv(rows: int) -> Path:
    """Ten (or rows / 1M) simulated parts in one CSV, written part by part."""
    parts = max(rows // PART_ROWS, 1)
    path = DATA / f"forms_{parts * PART_ROWS}_streaming.csv"
    if path.exists():
        return path
    temporary = path.with_suffix(".partial")
    copied = None
    with pa.OSFile(str(temporary), "wb") as sink:
        writer = None
        for part in range(1, parts + 1):
            table = _read_text(simulated_csv(PART_ROWS, seed=part))
            ids = pc.binary_join_element_wise(pa.scalar(f"P{part:02d}-"), table.column("case_id"), "")
            table = table.set_column(table.schema.get_field_index("case_id"), "case_id", ids)
            if part == 1:
                copied = table.slice(PART_ROWS // 2, COPIED)
            if part == parts and parts > 1:
                table = pa.concat_tables([table, copied])
            if writer is None:
                writer = pacsv.CSVWriter(sink, table.schema,
                                         write_options=pacsv.WriteOptions(quoting_style="needed"))
            writer.write_table(table)
        writer.close()
    temporary.rename(path)
    return path


def first_rows(path: Path, rows: int) -> Path:
    target = path.with_name(f"{path.stem}_head{rows}.csv")
    if not target.exists():
        with path.open("rb") as source, target.open("wb") as sink:
            for number, line in enumerate(source):
                if number > rows:
                    break
                sink.write(line)
    return target


def score(model_dir: Path, path: Path, chunk_rows: int, out: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    command = [PYTHON, "-m", "screening", "score", "--model", str(model_dir), "--input", str(path),
               "--output", str(out / "ranked.csv"), "--report", str(out / "page.html"),
               "--capacity", "10", "--per", "jobcenter", "--chunk-rows", str(chunk_rows),
               "--audit-log", str(out / "audit.jsonl")]
    result = measure(command, tree=True)  # memory is the point here; the sampling slows the run
    forms_in = sum(1 for _ in path.open("rb")) - 1
    ranked = sum(1 for _ in (out / "ranked.csv").open("rb")) - 1
    refused = len({line.split(b",", 1)[0] for line in (out / "ranked_refused.csv").open("rb")}) - 1
    return {"forms": forms_in, "file_mb": round(path.stat().st_size / 2**20, 1),
            "seconds": round(result["seconds"], 1), "peak_mb": round(max(result["peak_mb"], result["peak_tree_mb"])),  # with the worker processes
            "microseconds_per_form": round(result["seconds"] / forms_in * 1e6, 2),
            "ranked": ranked, "refused_forms": refused, "all_accounted_for": ranked + refused == forms_in}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=250_000)
    args = parser.parse_args()
    from bench_scoring import trained_model

    model_dir, _ = trained_model("additive", 30_000)
    big = big_csv(args.rows)
    small = first_rows(big, PART_ROWS)
    out = DATA / "streaming_out"
    result = {
        "chunk_rows": args.chunk_rows,
        "one_million": score(model_dir, small, args.chunk_rows, out / "small"),
        "big": score(model_dir, big, args.chunk_rows, out / "big"),
        "goals": {"peak_mb": "< 3072"},
        "command": f"python benchmarks/bench_streaming.py --rows {args.rows} --chunk-rows {args.chunk_rows}",
    }
    result["time_per_form_ratio_big_to_small"] = round(
        result["big"]["microseconds_per_form"] / result["one_million"]["microseconds_per_form"], 2)
    print(save("streaming", result).read_text())


if __name__ == "__main__":
    main()

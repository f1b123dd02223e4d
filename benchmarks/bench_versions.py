"""This working tree against an earlier revision, side by side in one run: did a change cost speed?

What is measured, each as the command a user runs, with the two versions in turn
(interleaved, so that a busy moment on a shared machine hits both alike), median of
``--repeat`` runs each:

1. ``screening score`` on the 1,000,000-form file of ``bench_scoring.py`` (wall
   time, peak memory);
2. ``screening score`` as ``bench_streaming.py`` runs it (capacity, per jobcenter,
   the page, chunks of 250,000) on a 2,000,000-form file whose case ids repeat
   across chunks;
3. ``score_one`` after ``load_model`` on 3,000 forms seen for the first time
   (p50, p99) and ``import screening``.

The earlier revision is checked out with ``git worktree`` into a temporary folder
and run from there with the same interpreter and the same model directory (model
files do not change between the two).

    python benchmarks/bench_versions.py [--against HEAD~1] [--repeat 3]

Results go to ``benchmarks/results/versions.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import DATA, PYTHON, ROOT, measure, save, simulated_csv

SINGLE = """
import json, sys, time
import numpy as np
import screening
from screening.synthetic import simulate_cohort
model = screening.load_model(sys.argv[1])
forms = simulate_cohort(int(sys.argv[2]), seed=77).forms
records = [{key: (None if value != value else value) for key, value in row.items()} for row in forms.to_dict("records")]
times = []
for values in records:
    start = time.perf_counter()
    try:
        model.score_one(values)
    except ValueError:
        pass
    times.append(time.perf_counter() - start)
times = np.array(times) * 1e3
print(json.dumps({"p50_ms": float(np.quantile(times, 0.5)), "p99_ms": float(np.quantile(times, 0.99))}))
"""


def repeated_ids_csv(rows: int) -> Path:
    """``rows`` simulated forms (1,000,000-form files one after the other), 1,000 ids of each later file repeated from the first."""
    path = DATA / f"versions_{rows}_repeated.csv"
    if path.exists():
        return path
    parts = [simulated_csv(1_000_000, seed=seed) for seed in range(1, rows // 1_000_000 + 1)]
    with path.open("wb") as sink:
        for number, part in enumerate(parts):
            with part.open("rb") as source:
                header = source.readline()
                if number == 0:
                    sink.write(header)
                for line in source:
                    # Part n's ids get a prefix, except the first 1,000: copies of part 1's ids, chunks apart.
                    repeated = number == 0 or (line[4:11].isdigit() and int(line[4:11]) <= 1000)
                    sink.write(line if repeated else b"P%d-" % number + line)
    return path


def median(runs: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(run[key] for run in runs), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="HEAD~1", help="the earlier revision (default HEAD~1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--streaming-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    from bench_scoring import trained_model

    model_dir, _ = trained_model("additive", 30_000)
    batch_file, streaming_file = simulated_csv(args.rows), repeated_ids_csv(args.streaming_rows)
    revision = subprocess.run(["git", "rev-parse", "--short", args.against], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout.strip()
    out = DATA / "versions_out"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screening-versions-") as folder:
        earlier = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(earlier), revision], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            trees = {"this_tree": ROOT, revision: earlier}
            runs: dict[str, dict[str, list]] = {name: {"batch": [], "streaming": [], "single": []} for name in trees}
            for _ in range(args.repeat):
                for name, tree in trees.items():
                    env = {**os.environ, "PYTHONPATH": str(tree)}
                    score = [PYTHON, "-m", "screening", "score", "--model", str(model_dir)]
                    runs[name]["batch"].append(measure(score + [
                        "--input", str(batch_file), "--output", str(out / f"{name}_ranked.csv"),
                        "--audit-log", str(out / "audit.jsonl")], env=env))
                    runs[name]["streaming"].append(measure(score + [
                        "--input", str(streaming_file), "--output", str(out / f"{name}_streamed.csv"),
                        "--report", str(out / f"{name}_page.html"), "--capacity", "10", "--per", "jobcenter",
                        "--chunk-rows", "250000", "--audit-log", str(out / "audit.jsonl")], env=env))
                    single = subprocess.run([PYTHON, "-c", SINGLE, str(model_dir), "3000"], env=env, cwd=folder,
                                            check=True, capture_output=True, text=True)
                    runs[name]["single"].append(json.loads(single.stdout.strip().splitlines()[-1]))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(earlier)], cwd=ROOT, capture_output=True)
    same_bytes = all((out / f"this_tree_{kind}.csv").read_bytes() == (out / f"{revision}_{kind}.csv").read_bytes()
                     for kind in ("ranked", "streamed"))
    result: dict[str, object] = {"against": revision, "repeat": args.repeat, "rows": args.rows,
                                 "streaming_rows": args.streaming_rows, "same_ranked_files": same_bytes}
    for name, kinds in runs.items():
        result[name] = {
            "score_s": median(kinds["batch"], "seconds"), "score_peak_mb": round(max(r["peak_mb"] for r in kinds["batch"])),
            "streaming_s": median(kinds["streaming"], "seconds"),
            "streaming_peak_mb": round(max(r["peak_mb"] for r in kinds["streaming"])),
            "score_one_p50_ms": median(kinds["single"], "p50_ms"), "score_one_p99_ms": median(kinds["single"], "p99_ms"),
        }
    now, before = result["this_tree"], result[revision]
    result["ratio_this_to_earlier"] = {key: round(now[key] / before[key], 3) for key in now}
    result["command"] = "python benchmarks/bench_versions.py " + " ".join(sys.argv[1:])
    print(json.dumps(result, indent=2))
    print(f"wrote {save('versions', result)}")


if __name__ == "__main__":
    main()

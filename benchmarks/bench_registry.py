"""Loading a model from the registry against loading its directory, side by side: what does the alias cost?

What is measured, each in a fresh interpreter as a case system or the ``score`` command
starts (import, resolve, verify checksums, load, prepare ``score_one``), interleaved so
that a busy moment on a shared machine hits all alike, median of ``--repeat`` runs:

1. ``load_model(<model directory>)``;
2. ``load_model("models:/screening-risk@champion")``: this tree's resolution (the
   SQLite registry read directly, read-only, no MLflow import);
3. the same alias resolved through MLflow (``mlflow.artifacts.download_artifacts``, as
   before; SQLAlchemy opens the store), then ``load_model`` of the directory found;
4. the resolution alone (2 and 3 without loading), timed inside a fresh interpreter.

The model is ``bench_scoring.py``'s (additive, 30,000 simulated forms), registered once
as ``screening-risk`` in a SQLite store under ``benchmarks/data/registry_store``.

    python benchmarks/bench_registry.py [--repeat 5]

Results go to ``benchmarks/results/registry.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time

from _common import DATA, PYTHON, save
from bench_scoring import trained_model

STORE = DATA / "registry_store"
NAME = "screening-risk"

LOAD = {
    "directory": "from screening.scoring import load_model\nload_model({model_dir!r})\n",
    "registry": f"from screening.scoring import load_model\nload_model('models:/{NAME}@champion')\n",
    "registry_through_mlflow": (
        "from screening.registry import _store\n"
        "from screening.scoring import load_model\n"
        f"load_model(_store._resolve_with_mlflow('models:/{NAME}@champion', _store.tracking_uri(), None))\n"
    ),
}


RESOLVE = (
    "import sys, time\n"
    "from screening.registry import _store\n"
    "started = time.perf_counter()\n"
    "_store.{how}\n"
    "print(time.perf_counter() - started)\n"
)
RESOLVE_HOW = {
    "registry": f"resolve_model_uri('models:/{NAME}@champion')",
    "registry_through_mlflow": f"_resolve_with_mlflow('models:/{NAME}@champion', _store.tracking_uri(), None)",
}


def registered_store(model_dir) -> str:
    """The benchmark's SQLite store, with the model registered as ``screening-risk`` (champion), made once."""
    uri = f"sqlite:///{STORE / 'mlflow.db'}"
    if (STORE / "mlflow.db").is_file():
        return uri
    os.environ["MLFLOW_TRACKING_URI"] = uri
    from screening.registry._tracking import log_training_run
    from screening.synthetic import simulate_cohort

    log_training_run(model_dir=model_dir, params={"source": "benchmarks/bench_scoring.py"}, metrics={},
                     artifacts={}, tags={}, input_example=simulate_cohort(3, seed=1).forms, register=NAME,
                     promote=True, run_name="bench-registry")
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model_dir, _ = trained_model("additive", 30_000)
    uri = registered_store(model_dir)
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "PYTHONWARNINGS": "ignore"}
    times: dict[str, list[float]] = {name: [] for name in LOAD}
    for _ in range(args.repeat):
        for name, code in LOAD.items():
            started = time.perf_counter()
            subprocess.run([PYTHON, "-c", code.format(model_dir=str(model_dir))], check=True, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - started)
    resolving: dict[str, list[float]] = {name: [] for name in RESOLVE_HOW}
    for _ in range(args.repeat):  # the resolution alone, in a fresh interpreter (MLflow's import included)
        for name, how in RESOLVE_HOW.items():
            done = subprocess.run([PYTHON, "-c", RESOLVE.format(how=how)], check=True, env=env, capture_output=True,
                                  text=True)
            resolving[name].append(float(done.stdout.strip().splitlines()[-1]))
    median = {name: round(statistics.median(values), 2) for name, values in times.items()}
    resolve_ms = {name: round(1000 * statistics.median(values), 1) for name, values in resolving.items()}
    results = {
        "model": model_dir.name, "store": "SQLite (benchmarks/data/registry_store)", "runs": args.repeat,
        "load_model_s": median, "all_runs_s": {name: [round(v, 2) for v in values] for name, values in times.items()},
        "resolve_only_ms": resolve_ms,
        "registry_minus_directory_s": round(median["registry"] - median["directory"], 2),
        "through_mlflow_minus_directory_s": round(median["registry_through_mlflow"] - median["directory"], 2),
        "goal": "registry at most ~1 s more than the directory",
        "command": f"python benchmarks/bench_registry.py --repeat {args.repeat}",
    }
    print(f"load_model, median of {args.repeat}: directory {median['directory']} s, "
          f"models:/{NAME}@champion {median['registry']} s, the same through MLflow {median['registry_through_mlflow']} s")
    print(f"resolving the alias alone: {resolve_ms['registry']} ms read from SQLite, "
          f"{resolve_ms['registry_through_mlflow']} ms through MLflow")
    print(f"wrote {save('registry', results)}")


if __name__ == "__main__":
    main()

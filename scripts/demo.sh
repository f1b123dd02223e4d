#!/usr/bin/env bash
# Set up (if needed) and run the main job end to end on simulated data: results in out/,
# runs and the registered model in the embedded MLflow store under mlruns/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
run() { echo; echo "\$ screening $*"; .venv/bin/screening "$@"; }
# 1. An analyst trains on last year's forms (simulated, with outcomes) and registers the model.
run simulate --rows 30000 --seed 1 --training --output out/training.csv
run train --data out/training.csv --model-dir out/model --register screening-risk --promote
# 2. This week's forms arrive from a case system as Danish Excel CSV, a few of them broken.
run simulate --rows 2000 --seed 7 --invalid-share 0.01 --output out/this_week.csv --dialect danish_excel --truth out/this_week_true_risk.csv
run validate --input out/this_week.csv --rejects out/this_week_refused.csv
echo
echo "Done: see out/ (model card: out/model/model_card.md); browse runs with"
echo "  .venv/bin/mlflow ui --backend-store-uri sqlite:///$PWD/mlruns/mlflow.db"

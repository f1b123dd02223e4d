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
# 2. This week's forms (received over the last 7 days) arrive from a case system as Danish Excel CSV,
#    a few of them broken.
run simulate --rows 2000 --seed 7 --invalid-share 0.01 --window-days 7 --output out/this_week.csv \
    --dialect danish_excel --truth out/this_week_true_risk.csv
run validate --input out/this_week.csv --rejects out/this_week_refused.csv
# 3. The weekly batch: ranked list with reasons, refused rows, the consultant's page, an audit line.
run score --model models:/screening-risk@champion --input out/this_week.csv --output out/this_week_ranked.csv \
    --report out/this_week.html --capacity 5 --per jobcenter
echo
echo "Done: open out/this_week.html; the ranked list is out/this_week_ranked.csv, refused forms"
echo "out/this_week_ranked_refused.csv, the model card out/model/model_card.md. Browse runs with"
echo "  .venv/bin/mlflow ui --backend-store-uri sqlite:///$PWD/mlruns/mlflow.db"

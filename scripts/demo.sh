#!/usr/bin/env bash
# Set up (if needed) and run the main job end to end on simulated data, into out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p out
run() { echo; echo "\$ screening $*"; .venv/bin/screening "$@"; }
run simulate --rows 20000 --seed 7 --invalid-share 0.01 --output out/this_week.csv --dialect danish_excel --truth out/this_week_true_risk.csv
run validate --input out/this_week.csv --rejects out/this_week_refused.csv
echo
echo "Done: see out/."

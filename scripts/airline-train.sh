#!/usr/bin/env bash
# The airline-passengers models: monthly 1949-01..1960-12, test = the last 24 months (1959-01..1960-12),
# validation = the last 30 % of 1949-1958 (1956-01..1958-12), horizon 12 months, window 24, month-of-year
# features, fused engine. The log transform is chosen on the validation split alone (an LSTM with and
# without it); the LSTM / GRU / BiLSTM models are then trained with the chosen transform.
# usage: scripts/airline-train.sh [DATA_CSV] [SCRATCH_DIR]
set -euo pipefail
csv=${1:-../shared/data/airline-passengers.csv}
tmp=${2:-.tmp/airline}
mkdir -p "$tmp"
common=(--csv "$csv" --column Passengers --time-column Month --test-from 1959-01 --window 24 --horizon 12
  --val-fraction 0.3 --engine fused --units 16 --lr 0.003 --epochs 400 --patience 40 --batch 16 --ensemble 3
  --refit --season 12 --ar-order 14 --backend wasm --quiet)
val() { node -e 'const v=require(process.argv[1]).figures.validation;console.log(process.argv[2], "validation RMSE 1-step", v.rmse1, "12-month", v.rmseH)' "$(realpath "$1/metrics.json")" "$2"; }
# Selection: only the validation figures are read (stdout, which prints the test scores, is discarded).
for t in none log; do
  [ -f "$tmp/lstm-$t/metrics.json" ] || node --import tsx src/cli.ts train forecaster "${common[@]}" --cell lstm --transform "$t" --out "$tmp/lstm-$t" >/dev/null
  val "$tmp/lstm-$t" "transform $t:"
done
best=$(node -e 'const a=require(process.argv[1]).figures.validation.rmse1,b=require(process.argv[2]).figures.validation.rmse1;console.log(b<a?"log":"none")' "$(realpath "$tmp/lstm-none/metrics.json")" "$(realpath "$tmp/lstm-log/metrics.json")")
echo "chosen on validation: --transform $best"
note="Transform chosen on the validation split (1956-01..1958-12) alone: LSTM with and without --transform log, lower validation 1-step RMSE wins (scripts/airline-train.sh). Window, horizon, units, lr and --refit were fixed beforehand, not tuned."
node --import tsx src/cli.ts train forecaster "${common[@]}" --cell lstm --transform "$best" --out models/airline-passengers --note "$note"
node --import tsx src/cli.ts train forecaster "${common[@]}" --cell gru --transform "$best" --out models/airline-passengers-gru --note "$note"
node --import tsx src/cli.ts train forecaster "${common[@]}" --cell bilstm --transform "$best" --out models/airline-passengers-bilstm --note "$note"

#!/usr/bin/env bash
# How the shipped melbourne-temp settings were chosen, without looking at 1990: the series is cut
# before 1990-01-01, every candidate is trained on 1981-01-01..1988-12-31 (its last 10 % is the
# early-stopping split) and scored by `kestrel eval forecaster` on all of 1989, the last year of the
# training period. The winner (lowest 1989 1-step RMSE) is then retrained with --test-from 1990-01-01;
# 1990 only scores that one model.
# usage: scripts/melbourne-selection.sh [DATA_CSV] [OUT_DIR]
set -euo pipefail
csv=${1:-../shared/data/daily-min-temperatures.csv}
out=${2:-.tmp/melbourne-selection}
mkdir -p "$out"
# The training years only: 1990 is not even read.
cut="$out/daily-min-temperatures-1981-1989.csv"
awk -F, '{ d = $1; gsub(/"/, "", d) } NR == 1 || d < "1990-01-01"' "$csv" > "$cut"
common=(--csv "$cut" --column Temp --time-column Date --test-from 1989-01-01 --horizon 7 --lr 0.001
  --patience 10 --epochs 100 --ensemble 3 --backend wasm --quiet)
run() {
  local name=$1
  shift
  if [ ! -f "$out/$name/metrics.json" ]; then
    node --import tsx src/cli.ts train forecaster "${common[@]}" --out "$out/$name" "$@" >/dev/null
  fi
  local score
  score=$(node --import tsx src/cli.ts eval forecaster --model "$out/$name" --csv "$cut" --test-from 1989-01-01 --backend wasm --json)
  node -e 'const s=JSON.parse(process.argv[1]);const m=require(process.argv[2]);const v=m.figures.validation;console.log([process.argv[3].padEnd(26),s.rmse1.toFixed(3),s.rmseH.toFixed(3),"     ",v.rmse1.toFixed(3),v.rmseH.toFixed(3),"      ",m.trainSeconds].join("  "))' "$score" "$(realpath "$out/$name/metrics.json")" "$name"
}
echo "candidate                   1989: RMSE1  RMSE7   early-stop split: RMSE1  RMSE7   train s"
run fused-lstm-w30 --engine fused --cell lstm --window 30
run fused-lstm-w60 --engine fused --cell lstm --window 60
run fused-lstm-w30-u64 --engine fused --cell lstm --window 30 --units 64
run fused-gru-w30 --engine fused --cell gru --window 30
run fused-bilstm-w30 --engine fused --cell bilstm --window 30
run fused-lstm-w30-refit --engine fused --cell lstm --window 30 --refit
run layers-lstm-w30 --engine layers --cell lstm --window 30
# Round 2, written after reading round 1's 1989 figures (refit helped the LSTM a little; the tf.layers
# LSTM and the fused GRU scored best):
run layers-lstm-w30-refit --engine layers --cell lstm --window 30 --refit
run fused-gru-w30-refit --engine fused --cell gru --window 30 --refit
run layers-gru-w30 --engine layers --cell gru --window 30

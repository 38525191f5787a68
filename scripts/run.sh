#!/usr/bin/env bash
# The main job, end to end: get MASSIVE, train, evaluate on the dev split of all 52 locales,
# and check the scores with the independent scorer. Results land in runs/.
#   MASSIVE_SOURCE=path/or/url bash scripts/run.sh     # default: the official download,
#                                                      # or ../shared/data's copy when present
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

shared="$ROOT/../shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
source_args=()
if [ -n "${MASSIVE_SOURCE:-}" ]; then
  source_args=(--source "$MASSIVE_SOURCE")
elif [ -f "$shared" ]; then
  source_args=(--source "$shared")
fi
TRAIN_LOCALES="${TRAIN_LOCALES:-en-US}"
MODEL_DIR="runs/baseline-${TRAIN_LOCALES//,/_}"

polynlu data fetch massive "${source_args[@]}"
polynlu train --model baseline --data massive --train-locales "$TRAIN_LOCALES" --output "$MODEL_DIR"
polynlu evaluate "$MODEL_DIR" --data massive --split dev --locales all --output "$MODEL_DIR/eval"
python tools/massive_score.py --data "$(python -c 'from polynlu.data import resolve_data; print(resolve_data("massive"))')" \
  --predictions "$MODEL_DIR/eval/predictions.jsonl" --metrics "$MODEL_DIR/eval/metrics.json" | tail -2
polynlu parse "$MODEL_DIR" "wake me up at five am this friday" --locale en-US
echo "Report: $MODEL_DIR/eval/report.md"

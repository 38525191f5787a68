#!/usr/bin/env bash
# The main job, end to end: get MASSIVE, train the joint model on en-US (zero-shot for the
# other 51 locales), calibrate its confidences on en-US dev, evaluate on the dev split of all
# 52 locales, and check the scores with the independent scorer. Results land in runs/. About
# 35 minutes on 2 CPU cores. It also exports the joint model as int8 ONNX (the model the
# serving figures in docs/results.md are for): serve it with `polynlu serve runs/joint-en-US-int8`.
#   MASSIVE_SOURCE=path/or/url bash scripts/run.sh     # default: the official download,
#                                                      # or ../shared/data's copy when present
#   MODEL=baseline bash scripts/run.sh                 # the 3-minute baseline instead
#   TRAIN_LOCALES=en-US,de-DE bash scripts/run.sh      # more labelled languages
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" train
cd "$ROOT"

shared="$ROOT/../shared/data/amazon-massive-dataset-1.1-traindev.tar.gz"
source_args=()
if [ -n "${MASSIVE_SOURCE:-}" ]; then
  source_args=(--source "$MASSIVE_SOURCE")
elif [ -f "$shared" ]; then
  source_args=(--source "$shared")
fi
TRAIN_LOCALES="${TRAIN_LOCALES:-en-US}"
MODEL="${MODEL:-joint}"
MODEL_DIR="runs/$MODEL-${TRAIN_LOCALES//,/_}"

polynlu data fetch massive "${source_args[@]}"
polynlu train --model "$MODEL" --data massive --train-locales "$TRAIN_LOCALES" --output "$MODEL_DIR"
polynlu calibrate "$MODEL_DIR" --data massive --locales train --split dev
polynlu evaluate "$MODEL_DIR" --data massive --split dev --locales all --output "$MODEL_DIR/eval"
data_folder="$(python -c 'from polynlu.data import resolve_data; print(resolve_data("massive"))')"
python tools/massive_score.py --data "$data_folder" \
  --predictions "$MODEL_DIR/eval/predictions.jsonl" --metrics "$MODEL_DIR/eval/metrics.json" | tail -2
served="$MODEL_DIR"
if [ "$MODEL" = joint ]; then
  polynlu export "$MODEL_DIR" --quantize int8 --output "$MODEL_DIR-int8"
  served="$MODEL_DIR-int8"
fi
polynlu parse "$served" "wake me up at five am this friday" --locale en-US
polynlu parse "$served" "weck mich am freitag um fünf uhr auf"   # language detected
echo "Report: $MODEL_DIR/eval/report.md"
echo "Serve it: polynlu serve $served"

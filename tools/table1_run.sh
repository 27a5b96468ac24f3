#!/bin/bash
# Table 1 on DensePose-Synth, CPU recipe: train + evaluate (on densepose_synth_val) one row after another, one
# thread each, the same schedule for every row; the learning rate drops x0.1 at 82.5 % and 95 % of MAX_ITER.
#   DENSEPOSE_DATA=DIR tools/table1_run.sh RUNS_DIR MAX_ITER [ROW ...]     (default: all six rows)
# EXTRA_OPTS="KEY VALUE ..." adds config overrides to every row (e.g. a common initialisation, MODEL.WEIGHTS).
# Writes RUNS_DIR/ROW/ (OUTPUT_DIR), RUNS_DIR/ROW.log and RUNS_DIR/ROW.wall (seconds, training + evaluation).
set -eu
runs=$(realpath -m "$1") iters=$2
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$runs"
for row in ${*:-base masks keypoints st_cascade cascade_masks cascade_keypoints}; do
  rm -rf "$runs/$row"; start=$(date +%s)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 ${PYTHON:-.venv/bin/python} train_net.py --config-file configs/table1/cpu/$row.yaml \
    INPUT.MIN_SIZE_TRAIN "(208, 224, 240)" INPUT.MAX_SIZE_TRAIN 320 INPUT.MIN_SIZE_TEST 240 INPUT.MAX_SIZE_TEST 320 \
    MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 64 SOLVER.IMS_PER_BATCH 4 SOLVER.MAX_ITER "$iters" \
    SOLVER.STEPS "($((iters * 33 / 40)), $((iters * 19 / 20)))" SOLVER.WARMUP_ITERS 50 SOLVER.CHECKPOINT_PERIOD 1000 \
    TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 0 SEED "${SEED:-1}" OUTPUT_DIR "$runs/$row" ${EXTRA_OPTS:-} \
    > "$runs/$row.log" 2>&1 || echo "$row: exit $?" >> "$runs/failed"
  echo $(($(date +%s) - start)) > "$runs/$row.wall"
done

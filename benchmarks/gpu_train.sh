#!/usr/bin/env bash
# Train a preset (default: full) on a lent GPU machine, under the Keras 3 JAX backend, within a
# wall-clock budget, and bring back what `raingan export` needs. The lent machine has JAX but no TensorFlow and can fetch nothing, so the Python
# packages it lacks travel as wheels and raingan's native core is built there.
#
#   benchmarks/gpu_train.sh prepare
#       here: download those wheels into .whl/ (ignored by git, named in the device call's carry)
#   benchmarks/gpu_train.sh train MINUTES [raingan train options...]
#       there (or on any machine with JAX and a C++ compiler): install, train on the first two
#       thirds of data/rain for MINUTES of wall-clock time, copy the last checkpoint to $OUT
#   benchmarks/gpu_train.sh collect FILES_AT RUN_DIR
#       here: turn the files that came back into a run folder that `raingan export` takes
#
# One device call, for example (15 minutes of device time in all; start and transfers cost
# two or three):
#   run(command="benchmarks/gpu_train.sh train 7", carry=[".whl"], timeout_s=600)
# The optimiser state (36 MB for the full preset) stays behind: what comes back exports and is
# judged, but cannot be resumed. The run's log and metrics.jsonl come back with it.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=.whl
PYTHON=${PYTHON:-python3}
# Versions this repository's own venv trains with; the lent machine has the rest (numpy,
# scipy, jax, h5py, absl-py, rich, ml-dtypes, packaging, tqdm, onnxruntime, pybind11,
# scikit-build-core, cmake).
WHEEL_PINS=(keras==3.15.1 namex==0.1.0 optree==0.20.0 soundfile==0.14.0 cffi==2.1.1
            pycparser==3.12 soxr==1.1.0 pyloudnorm==0.2.0)
# Files of a checkpoint that an export reads, and of the run around it.
CHECKPOINT_FILES=(state.json generator.weights.h5 generator_average.weights.h5
                  discriminator.weights.h5)
RUN_FILES=(run.json metrics.jsonl)

prepare() {
  mkdir -p .git/info
  grep -qsx '/.whl/' .git/info/exclude || echo /.whl/ >>.git/info/exclude
  rm -rf "$WHEELS"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux1_x86_64 -d "$WHEELS" "${WHEEL_PINS[@]}"
  ls "$WHEELS"
}

# The wheels, then raingan itself, native core included, built with the machine's own compiler
# (no network), into a fresh folder that PYTHONPATH then leads to.
install() {
  local site=/tmp/raingan-site
  rm -rf "$site"
  if compgen -G "$WHEELS/*.whl" >/dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
      --target "$site" "$WHEELS"/*.whl
  fi
  "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-compile \
    --no-cache-dir --upgrade --target "$site" .  # --upgrade: share bin/ with the wheels
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
}

train() {
  local minutes=${1:?usage: gpu_train.sh train MINUTES [raingan train options...]}
  shift
  local out=${OUT:?OUT must name the folder the checkpoint is copied to}
  local run_dir=${GPU_RUN_DIR:-/tmp/gpu-run} started=$SECONDS
  # GPU_TRAIN_INSTALLED=1: raingan and its needs are importable already (the test suite).
  if [[ ${GPU_TRAIN_INSTALLED:-0} != 1 ]]; then install; fi
  export KERAS_BACKEND=jax PYTHONUNBUFFERED=1
  echo "installed in $((SECONDS - started)) s"
  "$PYTHON" -m raingan train "$PWD/data/rain" --out "$run_dir" --preset full \
    --train-fraction 0.666 --max-minutes "$minutes" "$@" 2>&1 | tee "$out/train.log"
  local checkpoint
  checkpoint=$(ls -d "$run_dir"/checkpoints/step_* | sort | tail -1)
  for name in "${CHECKPOINT_FILES[@]}"; do
    if [[ -f $checkpoint/$name ]]; then cp "$checkpoint/$name" "$out/"; fi
  done
  for name in "${RUN_FILES[@]}"; do cp "$run_dir/$name" "$out/"; done
  echo "$(basename "$checkpoint") copied to $out in $((SECONDS - started)) s"
}

collect() {
  local files_at=${1:?usage: gpu_train.sh collect FILES_AT RUN_DIR} run_dir=${2:?RUN_DIR}
  local step
  step=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["step"])' \
    "$files_at/state.json")
  local checkpoint
  checkpoint=$run_dir/checkpoints/$(printf 'step_%08d' "$step")
  mkdir -p "$checkpoint"
  for name in "${CHECKPOINT_FILES[@]}"; do
    if [[ -f $files_at/$name ]]; then cp "$files_at/$name" "$checkpoint/"; fi
  done
  for name in "${RUN_FILES[@]}" train.log; do cp "$files_at/$name" "$run_dir/"; done
  echo "$checkpoint: export with raingan export $run_dir --data data/rain --out M.onnx"
}

command=${1:-}
case $command in
  prepare | train | collect) shift; "$command" "$@" ;;
  *) echo "usage: $0 prepare | train MINUTES [options...] | collect FILES_AT RUN_DIR" >&2; exit 2 ;;
esac

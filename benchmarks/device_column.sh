#!/usr/bin/env bash
# The prepared GPU call for the whole C-MNIST column (issue 28): prepare the four C-MNIST ratios from the MNIST files,
# then train Table 1's C-MNIST column (every row: GERNE's, the sweeps and the baselines, every seed) on CUDA, 32 runs
# to a stack, and time it (`python -m benchmarks.column`). $OUT/column_gpu.json is the file to commit, as
# metrics/column_gpu.json (it names the machine it ran on), with a DVC stage that renders it the way `benchmark_gpu`
# does: `python -m benchmarks.column --from-json --json metrics/column_gpu.json --out reports/column_gpu.md`.
#
# Prepare once on the developer machine: .mnist and .whl as benchmarks/device.sh says (both git-ignored; they travel
# through the tool's `carry`). The reference models and pseudo-attributes are the committed ones (models/cmnist/),
# so nothing else is needed. Call the device tool once: command `bash benchmarks/device_column.sh`, carry
# [".mnist", ".whl"], timeout_s 560. BUDGET_S (default 420) bounds the training: past it each row trains its first
# stack only, and the report prices the rest at that row's measured rate (see benchmarks/column.py).
# DFR's fits need scikit-learn; where the image has none, the dfr row is left out and the report says so.
source "$(dirname "$0")/device_env.sh"   # strict mode, $OUT, $WORK, wheels, gpu.txt
SKIP=()
python3 -c "import sklearn" 2> /dev/null || SKIP=(--skip dfr)
python3 -m benchmarks.column --device "${DEVICE:-cuda}" --stack "${STACK:-32}" --budget-s "${BUDGET_S:-420}" \
  --data-root "$WORK/data" --raw .mnist "${SKIP[@]}" --json "$OUT/column_gpu.json" --out "$OUT/column_gpu.md" \
  2>&1 | tee "$OUT/column_log.txt"

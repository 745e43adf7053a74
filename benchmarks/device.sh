#!/usr/bin/env bash
# The one prepared GPU call (issue 3): build C-MNIST 0.5 % from the MNIST files, then run the whole benchmark on
# CUDA — sec/epoch against the floor, stacked runs, host synchronisations per step, runs/hour, the Table 1
# column estimate and ResNet-50 steps against the data path; then the expected GPU hours of Table 1's C-CIFAR-10
# and bFFHQ columns (benchmarks/columns.py). Results land in $OUT (benchmarks_gpu.json is the file to commit, as
# metrics/benchmarks_gpu.json; columns_gpu.json holds the column prices).
#
# Prepare once on the developer machine (both folders are git-ignored and travel through the tool's `carry`):
#   mkdir -p .mnist && cp ../shared/data/mnist/*-ubyte.gz .mnist/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
# then call the device tool once: command `bash benchmarks/device.sh`, carry [".mnist", ".whl"], timeout_s 300 (it ran
# in about 40 s on an H200). Copy $OUT/benchmarks_gpu.json to metrics/ and `dvc repro benchmark_gpu`.
# The GPU image has torch, pandas, click, yaml and tqdm; MLflow is not needed (--no-track).
source "$(dirname "$0")/device_env.sh"   # strict mode, $OUT, $WORK, wheels, gpu.txt
python3 -c "import sys; from gerne.data.cmnist import build_cmnist; build_cmnist('.mnist', sys.argv[1], 0.5)" "$WORK/r0.5"
python3 -m benchmarks.run --data "$WORK/r0.5" --device "${DEVICE:-cuda}" --stack 8 --stack 32 --no-track \
  --out "$OUT/benchmarks_gpu.md" --json "$OUT/benchmarks_gpu.json" 2>&1 | tee "$OUT/log.txt"
# Table 1's other columns: ResNet-18 GERNE steps at C-CIFAR-10's and bFFHQ's shapes, priced over their runs
python3 -m benchmarks.columns --device "${DEVICE:-cuda}" --json "$OUT/columns_gpu.json" 2>&1 | tee "$OUT/columns.txt"

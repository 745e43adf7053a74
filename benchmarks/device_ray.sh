#!/usr/bin/env bash
# The prepared GPU call for the launchers (issue 16): build C-MNIST 0.5 % from the MNIST files, then time GPU packing:
# 16 GERNE runs one at a time, stacked 8 at a time, and as Ray tasks at 1, 4 and 8 per GPU
# (`python -m benchmarks.launchers --device cuda`). $OUT/benchmarks_launchers_gpu.json is the file to commit, as
# metrics/benchmarks_launchers_gpu.json.
#
# Prepare once on the developer machine (git-ignored folders that travel through the tool's `carry`): .mnist and .whl
# as benchmarks/device.sh says, and .raywhl: Ray's cp312 wheel without its Java jars, dashboard build and libraries
# (rllib, data, serve, tune, train, llm; 37 MB instead of 79, under the 64 MiB carry limit), saved as
# .raywhl/ray-stripped.zip, beside the wheels of Ray's dependencies (msgpack protobuf jsonschema filelock requests
# packaging, `pip download --only-binary=:all: --python-version 3.12 …`). Call the device tool once: command
# `bash benchmarks/device_ray.sh`, carry [".mnist", ".whl", ".raywhl"], timeout_s 420.
set -euo pipefail
OUT=${OUT:-/tmp/gerne_device}
WORK=$(mktemp -d)
mkdir -p "$OUT" "$WORK/site"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD:$WORK/site"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$WORK/site" .whl/*.whl .raywhl/*.whl
python3 - .raywhl/ray-stripped.zip "$WORK/site" <<'PY'  # extract, keeping the binaries' modes
import os, sys, zipfile
archive = zipfile.ZipFile(sys.argv[1])
for info in archive.infolist():
    path = archive.extract(info, sys.argv[2])
    if not info.is_dir():
        os.chmod(path, (info.external_attr >> 16) & 0o777 or 0o644)
PY
(nvidia-smi --query-gpu=name,memory.total --format=csv || echo "no nvidia-smi") | tee "$OUT/gpu.txt"
python3 -c "import sys; from gerne.data.cmnist import build_cmnist; build_cmnist('.mnist', sys.argv[1], 0.5)" "$WORK/r0.5"
python3 -m benchmarks.launchers --data "$WORK/r0.5" --device cuda --epochs 20 \
  --out "$OUT/benchmarks_launchers_gpu.md" --json "$OUT/benchmarks_launchers_gpu.json" 2>&1 | tee "$OUT/log.txt"

# Sourced by the prepared GPU calls (benchmarks/device*.sh): strict mode, $OUT and a scratch $WORK, the repository on
# PYTHONPATH, the wheels a bare GPU image lacks (.whl: pydantic and its dependencies) installed into $WORK/site, and
# the GPU's name, memory and driver into $OUT/gpu.txt.
set -euo pipefail
OUT=${OUT:-/tmp/gerne_device}
WORK=$(mktemp -d)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
if compgen -G ".whl/*.whl" > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:$WORK/site"
fi
(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || echo "no nvidia-smi") | tee "$OUT/gpu.txt"

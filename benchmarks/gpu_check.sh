#!/usr/bin/env bash
# The GPU path of every network, on a CUDA machine, in one go (device selection, batching, mixed precision,
# through hepreco's own modules and the bare models): prints timings, asserts nothing.
#
#   bash benchmarks/gpu_check.sh [OUT_DIR]
#
# The machine needs Python with torch (CUDA), numpy, numba and torch-geometric; the scikit-hep packages torch
# images lack (awkward, uproot, hist, pydantic, ...) can come as wheels in .whl/ (see the device notes in the
# README). hepreco and its plugins are installed from this checkout into a private folder.
set -uo pipefail
out=${1:-${OUT:-/tmp/gpu_check}}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
site=/tmp/hepreco-site
if [[ -d .whl ]]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" .whl/*.whl || exit 1
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$site" . plugins/comet plugins/lartpc plugins/jets || exit 1
export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
cd /tmp || exit 1
repo=$(cd - >/dev/null && pwd)
python3 -c "import torch, hepreco; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" 2>&1 | tee "$out/env.txt"
run() {  # name, timeout, command...
    local name=$1 limit=$2
    shift 2
    echo "=== $name" | tee -a "$out/summary.txt"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.txt" | tail -40
    echo "=== $name exit ${PIPESTATUS[0]}" | tee -a "$out/summary.txt"
}
run comet_dncnn 110 python3 "$repo/benchmarks/inference.py" --device cuda --batches 1 64 1024 --repeat 2
run lartpc_unet 150 python3 "$repo/benchmarks/gpu_lartpc.py" --events 20 --steps 20
run jets_mpnn 110 python3 "$repo/benchmarks/gpu_jets.py"

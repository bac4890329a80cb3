#!/usr/bin/env bash
# Pandora's full-size U-Net (depth 4, 16 base filters, 256 x 256 tiles) trained on a CUDA GPU with the project's
# own `hepreco train`, then measured on held-out events (reco.yaml's seed 31, never used for training):
#
#   bash examples/lartpc/gpu_recipe.sh OUT_DIR [EVENTS] [EPOCHS]
#
# OUT_DIR receives the checkpoint (unet_pandora/: metadata.json + model.safetensors), the training's metrics.csv
# and the held-out job's report (reco.json, summaries of lartpc.SegmentationMetrics). Without hepreco installed,
# it installs this checkout (and wheels in .whl/, for machines without a package index) into a private folder.
set -uo pipefail
out=$(realpath -m "${1:-gpu_recipe_out}")
events=${2:-2000}
epochs=${3:-12}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
export PYTHONUNBUFFERED=1
if ! python3 -c "import hepreco_lartpc" 2>/dev/null; then
    site=/tmp/hepreco-site
    if [[ -d "$repo/.whl" ]]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" "$repo"/.whl/*.whl || exit 1
    fi
    (cd "$repo" && python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target "$site" . plugins/lartpc) || exit 1
    export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
work=$(mktemp -d)
cd "$work" || exit 1
t0=$(date +%s)
timeout 330 python3 -m hepreco train "$repo/examples/lartpc/train_unet.yaml" \
    --set model.hparams.filters=16 --set model.hparams.tile=256 --set data.set.modules.imager.size=256 \
    --set training.device=cuda --set training.batch_size=32 --set training.threads=8 \
    --set "training.epochs=$epochs" --set "data.events=$events" --set "output=$work/unet_pandora" 2>&1 | tail -25
echo "training: $(( $(date +%s) - t0 )) s"
mkdir -p "$out/unet_pandora"
cp "$work/unet_pandora/best/"* "$out/unet_pandora/" 2>/dev/null
cp "$work/unet_pandora/metrics.csv" "$out/" 2>/dev/null
t1=$(date +%s)
timeout 120 python3 -m hepreco run "$repo/examples/lartpc/reco.yaml" -n 300 -q --report "$out/reco.json" \
    --set modules.imager.size=256 --set modules.unet.size=256 --set "modules.unet.weights=$work/unet_pandora/best" \
    --set services.Device.device=cuda --set "modules.out.file=$work/reco.root" \
    --set "services.Histograms.file=$work/reco_hists.root" --set "modules.metrics.plot_dir=$work/plots" \
    --set "modules.display.plot_dir=$work/plots" 2>&1 | tail -20
echo "held-out job: $(( $(date +%s) - t1 )) s"
python3 - "$out/reco.json" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))
m = rep["summaries"].get("metrics", {})
print({k: v for k, v in m.items() if "accuracy" in k or "purity" in k})
EOF

#!/usr/bin/env bash
# The jets recipe on one machine with many cores and a GPU: generate W and QCD jets on every core until a
# deadline, then train the three taggers at once (the MPNN and ParticleNet-Lite on the GPU, the tau21 + mass
# GBDT on the CPU) with the paper's MPNN recipe (batch 100, Adam 1e-3 x0.94 per epoch).
#
#   examples/jets/many_cores_recipe.sh OUT [GENERATE_SECONDS] [WORKERS] [TRAIN_SECONDS]
#
# Generation runs as independent jobs of generate.yaml, EVENTS events each (default 2500), each with its own
# run number (W: seed 1, runs 1000, 1001, ...; QCD: seed 2, runs 2000, 2001, ...), so every file is an exact
# recipe of its own: OUT/files.txt lists them, and rerunning those (seed, run, events) gives the same jets on
# any machine. A worker starts another job only if the last one would still end before the deadline; a job cut
# at the deadline leaves no file (outputs are complete or absent). 3/5 of the workers make W' events (about 19%
# give a selected W jet, against about 31% of QCD events). With 15 workers and 280 s, about 20k + 20k jets.
#
# Environment: EVENTS (events a job), MPNN_EPOCHS (50), PARTICLENET_EPOCHS (20), GENERATE_ARGS (more options of
# every generation job, e.g. "--set source.mpi=false": the tests switch MPI and ISR off to be quick).
#
# Trainings read the files through graphs.yaml exactly as train_*.yaml say; OUT/<model>/best is the checkpoint
# (`--set modules.mpnn_tagger.weights=OUT/mpnn/best` in tag_files.yaml measures it on held-out jets).
set -uo pipefail
out=${1:?usage: many_cores_recipe.sh OUT [GENERATE_SECONDS] [WORKERS] [TRAIN_SECONDS]}
gen_s=${2:-280}
workers=${3:-$(( $(nproc) - 1 ))}
train_s=${4:-240}
events=${EVENTS:-2500}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out/w" "$out/qcd"
out=$(cd "$out" && pwd)
start=$(date +%s)
deadline=$(( start + gen_s ))
nw=$(( (workers * 3 + 2) / 5 )); nq=$(( workers - nw ))
echo "generating for ${gen_s}s on $workers workers ($nw W', $nq QCD), $events events a job"

worker() {  # kind process seed first_run step
    local kind=$1 proc=$2 seed=$3 run=$4 step=$5 last=0 t0 now
    while :; do
        now=$(date +%s)
        (( now + last + last / 10 > deadline )) && break
        t0=$now
        timeout --signal=TERM $(( deadline - now + 5 )) \
            hepreco run "$here/generate.yaml" --set "source.process=$proc" --seed "$seed" --set "source.run=$run" \
                -n "$events" --set "modules.out.file=$out/$kind/jets_${kind}_run$run.root" \
                --set "services.Histograms.file=$out/$kind/hists_run$run.root" -q --no-progress --no-reports \
                ${GENERATE_ARGS:-} \
                >>"$out/$kind/log_run$run.txt" 2>&1 || echo "run $run ($kind) did not finish"
        last=$(( $(date +%s) - t0 ))
        (( last < 20 )) && last=20
        run=$(( run + step ))
    done
}
for i in $(seq 0 $(( nw - 1 ))); do worker w wprime_wz 1 $(( 1000 + i )) "$nw" & done
for i in $(seq 0 $(( nq - 1 ))); do worker qcd qcd 2 $(( 2000 + i )) "$nq" & done
wait
shopt -s nullglob
made=("$out"/w/jets_*.root "$out"/qcd/jets_*.root)
if (( ${#made[@]} == 0 )); then
    echo "no generation job finished: see the logs $out/w/log_run*.txt and $out/qcd/log_run*.txt" >&2
    exit 1
fi
printf '%s\n' "${made[@]}" > "$out/files.txt"
python3 - "$out/files.txt" <<'EOF'
import sys, uproot
n = {"w": 0, "qcd": 0}
for f in open(sys.argv[1]).read().split():
    n["w" if "/w/" in f else "qcd"] += uproot.open(f)["events"].num_entries
print(f"generated {n['w']} W jets and {n['qcd']} QCD jets in", len(open(sys.argv[1]).read().split()), "files")
EOF
echo "generation took $(( $(date +%s) - start ))s"

files="[$(paste -sd, "$out/files.txt")]"
cd "$out"
hepreco run "$here/pt_spectrum.yaml" --set "source.files=$files" -q --no-progress --no-reports
common=(--set "data.set.source.files=$files" --set "data.set.modules.weights.spectra=[$out/jets_pt_spectrum.root]")
gpu=(--set training.device=auto --set training.batch_size=100 --set training.optimizer.lr=0.001 --set training.threads=2)
timeout --signal=TERM "$train_s" hepreco train "$here/train_mpnn.yaml" "${common[@]}" "${gpu[@]}" \
    --set training.epochs="${MPNN_EPOCHS:-50}" --set training.early_stopping=null --set output="$out/mpnn" > mpnn.log 2>&1 &
timeout --signal=TERM "$train_s" hepreco train "$here/train_particlenet.yaml" "${common[@]}" "${gpu[@]}" \
    --set training.epochs="${PARTICLENET_EPOCHS:-20}" --set training.early_stopping.patience=5 \
    --set output="$out/particlenet" > particlenet.log 2>&1 &
timeout --signal=TERM "$train_s" hepreco train "$here/train_tau21.yaml" "${common[@]}" --set output="$out/tau21" > tau21.log 2>&1 &
wait
tail -n 8 mpnn.log particlenet.log tau21.log
echo "all done in $(( $(date +%s) - start ))s"
for m in mpnn particlenet tau21; do [[ -f "$out/$m/best/metadata.json" ]] || { echo "$m: no checkpoint" >&2; exit 1; }; done

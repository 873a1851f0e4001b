#!/usr/bin/env bash
# The hf engine's GPU check, one command, under 8 minutes on one GPU; prints one summary table at the end.
#
#   bash benchmarks/gpu_check.sh                  # GPU: random:1b in bf16 (no checkpoint download needed)
#   DEVICE=cpu bash benchmarks/gpu_check.sh       # quick dry run on CPUs: tiny model, a few steps of everything
#
# Steps: (1) the GPU-relevant tests (hf backend, engine, batching), (2) the decode step profile (legacy vs clinqa),
# (3) the batching benchmark with the roofline (CoT batched vs one at a time, then tokens/s and % of the bandwidth
# roofline per batch size), (4) Ensemble Refinement on 8 questions (11 + 33 samples) with a 20 GB batch budget: peak
# allocated vs reserved memory, (5) hf log-likelihood batched vs one at a time, (6) `clinqa tune` (LoRA, bf16) for
# 50 steps: tokens/s and peak memory.
#
# On a bare machine with torch + transformers: the other Python packages travel as wheels in .whl/ (made here by
# `bash benchmarks/gpu_wheels.sh`), and the data as a copy in .gpu-data/ (`cp -r ../shared/data .gpu-data`; both
# folders are git-ignored); carry both: run(command="bash benchmarks/gpu_check.sh", carry=[".whl", ".gpu-data"]).
# Logs go to $OUT (the device tool's folder) or /tmp/clinqa-gpu-check.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "wheel install failed"; exit 1; }
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$ROOT/src:$ROOT/benchmarks:${PYTHONPATH:-}"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
[ -d .gpu-data ] && export CLINQA_DATA="$ROOT/.gpu-data"
LOGS=${OUT:-/tmp/clinqa-gpu-check}
mkdir -p "$LOGS"
: > "$LOGS/summary.tsv"

DEVICE=${DEVICE:-cuda}
if [ "$DEVICE" = cpu ]; then
  export CUDA_VISIBLE_DEVICES=""
  MODEL=random:tiny DTYPE=float32 ROWS=1,8 LIMIT=4 TOKENS=16 ER=3,3 ER_LIMIT=2 TUNE_STEPS=2 TUNE_LEN=128
  TESTS=(tests/test_hf_engine.py -k "draw or stops or kv_bytes or out_of_memory") QUICK="--quick --profile-rows 8"
  T_TESTS=300 T_STEP=300 T_BENCH=300 T_ER=300 T_LOGLIK=300 T_TUNE=300
else
  MODEL=random:1b DTYPE=bfloat16 ROWS=1,64,128 LIMIT=64 TOKENS=96 ER=11,33 ER_LIMIT=8 TUNE_STEPS=50 TUNE_LEN=512
  TESTS=(tests/test_backend_hf.py tests/test_hf_engine.py tests/test_batching.py -k "hf or engine or backend")
  T_TESTS=80 T_STEP=100 T_BENCH=110 T_ER=80 T_LOGLIK=50 T_TUNE=80 QUICK=
fi
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
  torch.cuda.get_device_name() if torch.cuda.is_available() else '')"

python3 -c "import tempfile, pathlib; from clinqa.models.random_model import build_random_model as b
b(pathlib.Path(tempfile.gettempdir()) / 'clinqa-random-${MODEL#random:}', '${MODEL#random:}')"   # built once, shared

step() {   # step NAME TIMEOUT_S COMMAND...: run, log, record rc and seconds
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  echo "=== $name: $*"
  timeout "$limit" "$@" > "$LOGS/$name.log" 2>&1
  local rc=$?
  tail -n 25 "$LOGS/$name.log"
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" >> "$LOGS/summary.tsv"
}

step tests "$T_TESTS" python3 -m pytest -q -p no:cacheprovider -x "${TESTS[@]}"
step step_profile "$T_STEP" python3 benchmarks/hf_step_profile.py --model "$MODEL" --dtype "$DTYPE" --rows "$ROWS" $QUICK
step batching "$T_BENCH" python3 benchmarks/batching.py --model "$MODEL" --dtype "$DTYPE" --limit "$LIMIT" \
  --concurrency "$LIMIT" --max-tokens "$TOKENS" --strategies cot --er "" --step-rows "$ROWS"
CLINQA_HF_MAX_BATCH_BYTES=20e9 step er_memory "$T_ER" python3 benchmarks/batching.py --model "$MODEL" \
  --dtype "$DTYPE" --max-tokens "$TOKENS" --strategies "" --er "$ER" --er-limit "$ER_LIMIT" --concurrency 8 \
  --step-rows ""
step loglik "$T_LOGLIK" python3 benchmarks/batching.py --model "$MODEL" --dtype "$DTYPE" --limit "$LIMIT" \
  --concurrency "$LIMIT" --strategies loglik --er "" --step-rows ""
step tune "$T_TUNE" python3 benchmarks/tune_speed.py --model "$MODEL" --dtype "$DTYPE" --steps "$TUNE_STEPS" \
  --max-length "$TUNE_LEN"

echo
echo "=============================== summary ($DEVICE, $MODEL $DTYPE) ==============================="
printf '%-13s %4s %6s  %s\n' step rc secs result
while IFS=$'\t' read -r name rc secs; do
  case $name in
    tests) what=$(grep -E "passed|failed|error" "$LOGS/$name.log" | tail -n 1) ;;
    step_profile) what=$(grep -E "^RATIO" "$LOGS/$name.log" | tr '\n' ' ') ;;
    batching) what=$(grep -E "RATIO|roofline" "$LOGS/$name.log" | sed 's/^ *//' | tr '\n' ' ') ;;
    er_memory) what=$(grep -E "^single-stream" "$LOGS/$name.log" | sed 's/.*ER /ER /') ;;
    loglik) what=$(grep -E "RATIO" "$LOGS/$name.log" | sed 's/.*RATIO/RATIO/') ;;
    tune) what=$(grep -E "^TUNE" "$LOGS/$name.log") ;;
  esac
  [ "$rc" = 0 ] || what="FAILED (rc $rc): $(tail -n 1 "$LOGS/$name.log") $what"
  printf '%-13s %4s %6s  %s\n' "$name" "$rc" "$secs" "${what:0:400}"
done < "$LOGS/summary.tsv"

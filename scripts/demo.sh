#!/usr/bin/env bash
# The main job on the embedded default model: install, list the data, run a MedQA benchmark, write its report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
source scripts/venv.sh          # this checkout's .venv: its clinqa, not another clone's
clinqa tasks list
clinqa bench --task medqa --strategy fewshot --limit 20 --run-dir runs/demo-medqa-fewshot
clinqa report --no-table runs/demo-medqa-fewshot     # the table was just printed by bench: the configuration and HTML

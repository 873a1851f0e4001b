#!/usr/bin/env bash
# Download (here, where pip reaches the registry) the wheels `benchmarks/gpu_check.sh` needs on the GPU machine, whose
# image has torch, transformers, peft, accelerate, typer, rich, pandas, scipy, statsmodels, pyarrow and jinja2 but not
# the rest of clinqa's needs. Versions are the ones installed here; .whl/ is git-ignored.
#
#   bash benchmarks/gpu_wheels.sh && du -sh .whl        # then carry .whl (64 MiB at most)
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(sqlalchemy greenlet gguf openpyxl et-xmlfile krippendorff transformers tokenizers huggingface-hub
          trl datasets dill multiprocess openai pydantic pydantic-core annotated-types typing-inspection distro
          jiter sniffio)
for name in "${PACKAGES[@]}"; do
  version=$(python3 -m pip show "$name" 2>/dev/null | awk '/^Version:/{print $2}')
  [ -n "$version" ] || { echo "skip $name (not installed here)"; continue; }
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform any -d .whl "$name==$version" \
    || echo "no wheel for $name==$version"
done
du -sh .whl

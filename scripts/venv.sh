# Sourced by the other scripts: this checkout's own environment. Every checkout (and every CI clone) installs into
# its own virtual environment, `.venv` in the checkout (or $CLINQA_VENV), so a second clone never repoints another
# one's editable install. Puts the venv's bin first on PATH, so `python3`, `pip` and `clinqa` are the checkout's.
# Created here with the system python 3.11 (`python3 -m venv`) when missing; pass PYTHON=/path/to/python to
# scripts/install.sh to install into an existing interpreter instead (e.g. a system-wide install).
CLINQA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLINQA_VENV=${CLINQA_VENV:-$CLINQA_ROOT/.venv}
if [ -z "${PYTHON:-}" ]; then
  if [ ! -x "$CLINQA_VENV/bin/python" ]; then
    echo "creating $CLINQA_VENV (python3 -m venv)" >&2
    python3 -m venv "$CLINQA_VENV"
  fi
  export VIRTUAL_ENV=$CLINQA_VENV
  export PATH="$CLINQA_VENV/bin:$PATH"
  PY=$CLINQA_VENV/bin/python
else
  PY=$PYTHON
fi
export CLINQA_VENV

#!/usr/bin/env bash
# One command that sets everything up on a fresh machine: a .venv with nirc and its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
echo "nirc is installed in .venv: activate it with 'source .venv/bin/activate' or call .venv/bin/nirc"

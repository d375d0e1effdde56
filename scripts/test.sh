#!/usr/bin/env bash
# One command that runs every test: ruff, pytest (unit, conformance, fuzz) and the lit/FileCheck suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check .
pytest "$@"
lit -s tests/filecheck

#!/usr/bin/env bash
# The whole check: lint, format, types and the test suite (installs what it needs).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh" dev
cd "$ROOT"
echo "== ruff check";   ruff check .
echo "== ruff format";  ruff format --check .
echo "== mypy";         mypy
echo "== pytest";       pytest "$@"

# Sourced by run.sh and test.sh: a local virtual environment with polynlu installed.
# Re-installs only when pyproject.toml changes, so a second run starts at once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${POLYNLU_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
EXTRAS="${1:-}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating a virtual environment in $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.polynlu-installed${EXTRAS:+-$EXTRAS}"
wanted="$(sha1sum < "$ROOT/pyproject.toml" | cut -d" " -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "Installing polynlu${EXTRAS:+[$EXTRAS]} and its dependencies"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -e "$ROOT${EXTRAS:+[$EXTRAS]}"
  echo "$wanted" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"

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

# The assistant's tests speak with espeak-ng and open the web page in Chromium: Debian
# packages, which pip cannot install.
if [ "$EXTRAS" = "dev" ] && { ! command -v espeak-ng >/dev/null || ! command -v chromium >/dev/null; }; then
  echo "Installing espeak-ng and chromium (Debian packages)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q espeak-ng chromium >/dev/null
fi

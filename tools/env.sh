# Sourced by tools/quickstart.sh and tools/test.sh: create the virtualenv if it is missing, install the
# pinned requirements and this package into it when requirements.txt or pyproject.toml changed since the
# last install, and activate it. A second run with nothing changed installs nothing.
#   VENV=path  (default .venv in the repository root)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${VENV:-$repo/.venv}"
case "$venv" in /*) ;; *) venv="$repo/$venv" ;; esac
if [ ! -x "$venv/bin/python" ]; then
    command -v python3 >/dev/null || { echo "error: python3 not found (Python 3.9-3.11 is needed)" >&2; exit 1; }
    echo "== creating the virtualenv $venv"
    python3 -m venv "$venv"
fi
# shellcheck disable=SC1091
. "$venv/bin/activate"
stamp="$venv/.paddleseg_fastfcn_install"
want="$(cat "$repo/requirements.txt" "$repo/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "== installing requirements.txt and this package into $venv"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -r "$repo/requirements.txt"
    python -m pip install --quiet --no-deps -e "$repo"
    python -m pip check
    echo "$want" > "$stamp"
else
    echo "== $venv is up to date with requirements.txt (nothing installed)"
fi
cd "$repo"

#!/usr/bin/env bash
# Create (or refresh) .venv at the repository root with a Python >= 3.12 found on this machine.
# Usage: bash scripts/bootstrap.sh [EXTRA]   (EXTRA: test [default: every feature], plots, bench,
#        or baseline [pymc-extras, for benchmarks/bench_laplace.py; it pins an older PyMC])
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
extra=${1:-test}
venv="$root/.venv"

is_ok() {  # is "$1" a Python >= 3.12 that can make a venv?
  "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
  local c
  if [ -n "${PYMC_FISHER_PYTHON:-}" ] && is_ok "$PYMC_FISHER_PYTHON"; then echo "$PYMC_FISHER_PYTHON"; return; fi
  for c in python3.12 python3.13 python3.14 python3; do
    if command -v "$c" >/dev/null 2>&1; then
      c=$(command -v "$c")
      # a pyenv shim answers for the selected version only; resolve it when possible
      if is_ok "$c"; then echo "$c"; return; fi
    fi
  done
  local roots=("${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv /opt/pyenv /usr/local/pyenv)
  local r v
  for r in "${roots[@]}"; do
    [ -n "$r" ] && [ -d "$r/versions" ] || continue
    # newest 3.12.x first, then 3.13, 3.14: the versions PyMC ships wheels for
    for v in $(ls "$r/versions" | grep -E '^3\.1[234]\.[0-9]+$' | sort -t. -k2,2n -k3,3nr); do
      if is_ok "$r/versions/$v/bin/python"; then echo "$r/versions/$v/bin/python"; return; fi
    done
  done
  for c in /usr/local/bin/python3.1[234] /usr/bin/python3.1[234]; do
    [ -x "$c" ] && is_ok "$c" && { echo "$c"; return; }
  done
  return 1
}

if [ ! -x "$venv/bin/python" ] || ! is_ok "$venv/bin/python"; then
  py=$(find_python) || {
    echo "bootstrap: no Python >= 3.12 found (looked on PATH, under pyenv and /usr/local/bin)." >&2
    echo "bootstrap: install one, or point PYMC_FISHER_PYTHON at it." >&2
    exit 1
  }
  echo "bootstrap: creating .venv with $py ($("$py" --version 2>&1))"
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
fi

# Reinstall only when the requirements changed.
stamp="$venv/.pymc_fisher-$extra.stamp"
want=$(cat "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing pymc-fisher[$extra] into .venv"
  "$venv/bin/python" -m pip install --quiet -e "$root[$extra]"
  rm -f "$venv"/.pymc_fisher-*.stamp
  echo "$want" > "$stamp"
fi

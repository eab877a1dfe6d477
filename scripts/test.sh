#!/usr/bin/env bash
# Set up .venv and run the whole test suite, one tier after the other:
#   default  (fast: exact checks, doctests)          pytest
#   slow     (statistical sampler tests, long runs)  pytest -m slow
#   docs     (examples and notebooks, fresh process) pytest -m docs
# Extra arguments go to every pytest run, e.g. `bash scripts/test.sh -x -k fisher`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh" test
cd "$root"
py=.venv/bin/python

tier() {  # run one tier; exit code 5 (no test collected, e.g. with -k) is not a failure
  local status=0
  "$py" -m pytest -n 2 -q "$@" || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then exit "$status"; fi
}

tier "$@"
# doctest items carry no marker, so the other tiers leave them to the first run. The corpus
# (-m corpus: 36 real models; its fast checks take about half an hour, its sampling study
# about an hour) is run by hand: see README.
tier -m "slow and not corpus" "$@"
tier -m docs "$@"

#!/usr/bin/env bash
# Set up .venv and run the whole test suite: the default tier, then the slow (statistical) tier.
# Extra arguments go to both pytest runs, e.g. `bash scripts/test.sh -x -k fisher`.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh" test
cd "$root"
py=.venv/bin/python
$py -m pytest -n 2 -q "$@"
status=0
# doctest items carry no marker, so -m slow leaves them to the first run
$py -m pytest -n 2 -q -m slow "$@" || status=$?
# exit code 5 = no slow test collected (e.g. with -k); that is not a failure
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then exit "$status"; fi

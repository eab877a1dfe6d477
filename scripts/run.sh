#!/usr/bin/env bash
# Set up .venv and run the main job.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/bootstrap.sh" test
cd "$root"
exec .venv/bin/python -m pymc_fisher.cli demo "$@"

"""Every script in examples/ runs to completion (the ``docs`` tier).

Each runs in a fresh process with ``PYMC_FISHER_EXAMPLE_SMALL=1``; a script that reads it shrinks
its settings, one that does not runs at full size.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL_VAR = "PYMC_FISHER_EXAMPLE_SMALL"

pytestmark = pytest.mark.docs


@pytest.mark.parametrize("path", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(path, tmp_path):
    # PYTHONPATH: the script imports this checkout's pymc_fisher, whichever one is installed
    path_var = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, SMALL_VAR: "1", "MPLBACKEND": "Agg", "PYTHONPATH": path_var}
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,  # whatever an example writes lands here
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"{path.name} failed:\n{result.stderr[-4000:]}"

"""Every script in examples/ runs to completion with small settings.

Scripts that read ``PYMC_FISHER_EXAMPLE_SMALL`` (and shrink their settings when it is "1") run in
the default tier; a script that does not is run at full size in the slow tier.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL_VAR = "PYMC_FISHER_EXAMPLE_SMALL"


def _cases():
    for path in sorted((ROOT / "examples").glob("*.py")):
        honours_small = SMALL_VAR in path.read_text()
        marks = [] if honours_small else [pytest.mark.slow]
        yield pytest.param(path, id=path.name, marks=marks)


@pytest.mark.parametrize("path", list(_cases()))
def test_example_runs(path, tmp_path):
    env = {**os.environ, SMALL_VAR: "1", "MPLBACKEND": "Agg"}
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

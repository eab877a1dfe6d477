"""Every notebook in notebooks/ executes top to bottom with nbclient (the ``docs`` tier).

Notebooks read ``PYMC_FISHER_EXAMPLE_SMALL`` like the examples; one that does not runs at full
size.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL_VAR = "PYMC_FISHER_EXAMPLE_SMALL"

pytestmark = pytest.mark.docs


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    import nbclient  # test dependencies: nbclient, nbformat, ipykernel
    import nbformat

    monkeypatch.setenv(SMALL_VAR, "1")  # the kernel inherits this environment
    # the kernel imports this checkout's pymc_fisher, whichever one is installed
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert not errors

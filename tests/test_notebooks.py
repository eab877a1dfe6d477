"""Every notebook in notebooks/ executes top to bottom (nbclient), with small settings.

Notebooks read ``PYMC_FISHER_EXAMPLE_SMALL`` like the examples; one that does not runs at full
size in the slow tier.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL_VAR = "PYMC_FISHER_EXAMPLE_SMALL"


def _cases():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        marks = [] if SMALL_VAR in path.read_text() else [pytest.mark.slow]
        yield pytest.param(path, id=path.name, marks=marks)


@pytest.mark.parametrize("path", list(_cases()))
def test_notebook_executes(path, tmp_path, monkeypatch):
    import nbclient  # test dependencies: nbclient, nbformat, ipykernel
    import nbformat

    monkeypatch.setenv(SMALL_VAR, "1")  # the kernel inherits this environment
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

"""The public namespace is small and deliberate, and importing it stays light."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pymc_fisher as pmf
from pymc_fisher.errors import FisherError

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "RMHMC",
    "NutpieFallbackWarning",
    "NutpieMissingError",
    "Reparametrization",
    "WhiteningWarning",
    "reparametrization_of",
    "reparametrize",
    "AdaptationOptions",
    "ChainFailedError",
    "KernelFallbackWarning",
    "RMHMCSampler",
    "SolverOptions",
    "DesignVariableError",
    "DiscreteVariableError",
    "DrawsMismatchError",
    "FisherError",
    "GeodesicError",
    "ImproperJeffreysError",
    "ImproperPriorError",
    "MissingGroupError",
    "MissingPointValueError",
    "ModeNotFoundError",
    "NoClosedFormError",
    "NoObservedVariablesError",
    "NonFiniteInformationError",
    "NonFiniteLogDensityError",
    "NonFinitePointError",
    "NotPositiveDefiniteError",
    "ParetoKWarning",
    "PlotError",
    "PreconditionerFallbackWarning",
    "UnsupportedModelError",
    "__version__",
    "bench",
    "check_model",
    "design_criteria",
    "fisher_information",
    "fisher_information_graph",
    "fisher_rao_distance",
    "fit_laplace",
    "geodesic",
    "identifiability",
    "jeffreys_prior",
    "log_marginal_likelihood",
    "optimize_design",
    "plot_condition_number",
    "plot_divergences",
    "plot_integration_time",
    "plot_laplace_pair",
    "plot_matrix_heatmap",
    "posterior_fisher_information",
    "sample",
    "stein_discrepancy",
    "stein_thin",
    "summary",
}


def test_all_is_the_public_api():
    assert set(pmf.__all__) == PUBLIC
    for name in pmf.__all__:
        assert hasattr(pmf, name), name


def test_errors_are_typed_value_errors():
    for name in [n for n in pmf.__all__ if n.endswith("Error")]:
        assert issubclass(getattr(pmf, name), ValueError), name


def test_every_error_the_package_raises_is_exported():
    # every FisherError subclass defined in the package outside the study runner (which exports
    # its own from pymc_fisher.bench), found by reading the source
    defined = set()
    for path in (ROOT / "pymc_fisher").rglob("*.py"):
        if "bench" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                getattr(base, "id", None) == "FisherError" for base in node.bases
            ):
                defined.add(node.name)
    assert defined, "the scan found no error class"
    assert defined <= set(pmf.__all__)
    for name in defined | {"FisherError"}:
        assert issubclass(getattr(pmf, name), FisherError), name
    assert issubclass(pmf.ParetoKWarning, UserWarning)


def test_import_is_light():
    # a fresh interpreter: the study runner, Dask and matplotlib load only when asked for
    code = (
        "import sys; import pymc_fisher; "
        "heavy = ['matplotlib', 'distributed', 'dask', 'arviz_plots', 'pymc_fisher.bench', "
        "'pymc_fisher.bench.runner']; "
        "print([m for m in heavy if m in sys.modules]); "
        "pymc_fisher.bench; "
        "print('pymc_fisher.bench.runner' in sys.modules, 'bench' in vars(pymc_fisher))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "True True"]


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        pmf.no_such_name  # noqa: B018

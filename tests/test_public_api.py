"""The public namespace is small and deliberate."""

import pymc_fisher as pmf

PUBLIC = {
    "RMHMC",
    "DiscreteVariableError",
    "MissingPointValueError",
    "NoClosedFormError",
    "NoObservedVariablesError",
    "NonFiniteLogDensityError",
    "NotPositiveDefiniteError",
    "__version__",
    "bench",
    "check_model",
    "design_criteria",
    "fisher_information",
    "fisher_information_graph",
    "fisher_rao_distance",
    "fit_laplace",
    "geodesic",
    "jeffreys_prior",
    "optimize_design",
    "plot_laplace_pair",
    "plot_matrix_heatmap",
    "summary",
}


def test_all_is_the_public_api():
    assert set(pmf.__all__) == PUBLIC
    for name in pmf.__all__:
        assert hasattr(pmf, name), name


def test_errors_are_typed_value_errors():
    for name in [n for n in pmf.__all__ if n.endswith("Error")]:
        assert issubclass(getattr(pmf, name), ValueError), name

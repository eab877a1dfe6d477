"""One shape for every public function: the model first and from the context, keyword options,
``random_seed`` as PyMC takes it, one default space, and options that do not apply rejected."""

from __future__ import annotations

import inspect

import numpy as np
import pymc as pm
import pytest
import xarray as xr

import pymc_fisher as pmf
from pymc_fisher.seeds import as_generator, seed_sequence
from tests.models import normal_model

Y = np.array([0.3, -0.2, 1.1, 0.4])
POINT = {"mu": 0.1, "sigma": 0.9}


@pytest.fixture(scope="module")
def model() -> pm.Model:
    """One model for the whole file: its compiled functions are cached on it (none mutates it)."""
    return normal_model(Y)


# public functions of a model: (name, the arguments after the model that are not options)
MODEL_FUNCTIONS = {
    "check_model": [],
    "fisher_information": ["point"],
    "fisher_information_graph": [],
    "fit_laplace": [],
    "identifiability": ["point"],
    "log_marginal_likelihood": [],
    "jeffreys_prior": [],
    "optimize_design": ["data_name"],
    "posterior_fisher_information": ["idata"],
    "stein_discrepancy": ["idata"],
    "stein_thin": ["idata", "n"],
    "summary": ["fit"],
    "geodesic": ["point_a", "point_b"],
    "fisher_rao_distance": ["point_a", "point_b"],
}


@pytest.mark.parametrize("name", sorted(MODEL_FUNCTIONS))
def test_model_first_with_a_default_then_keyword_only_options(name):
    parameters = list(inspect.signature(getattr(pmf, name)).parameters.values())
    assert parameters[0].name == "model"
    assert parameters[0].default is None  # from the context when omitted
    positional = [p.name for p in parameters[1:] if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert positional == MODEL_FUNCTIONS[name]
    assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in parameters[1 + len(positional) :])


@pytest.mark.parametrize("name", sorted(MODEL_FUNCTIONS))
def test_one_default_space(name):
    space = inspect.signature(getattr(pmf, name)).parameters.get("space")
    assert space is None or space.default == "unconstrained"


def test_the_model_comes_from_the_context(model):
    with model:
        info = pmf.fisher_information(point=POINT)
        fit = pmf.fit_laplace(random_seed=0)
        table = pmf.summary(fit=fit)
        jeffreys = pmf.jeffreys_prior(vars=["mu"])
        # the model was found (else: "No model on context stack"); the geodesic solve itself is
        # tested in tests/geometry
        with pytest.raises(TypeError, match="needs both end points"):
            pmf.fisher_rao_distance(point_a=POINT)
    np.testing.assert_allclose(info.values, pmf.fisher_information(model, POINT).values)
    assert list(table.index) == ["mu", "sigma"]
    assert [p.name for p in jeffreys.potentials] == ["jeffreys_log_density"]


def test_jeffreys_vars_is_keyword_only(model):
    with pytest.raises(TypeError):
        pmf.jeffreys_prior(model, ["mu"])  # type: ignore[misc]


def test_summary_old_argument_order_warns_and_gives_the_same_table(model):
    fit = pmf.fit_laplace(model, random_seed=0)
    with pytest.warns(FutureWarning, match=r"summary\(model, fit\)"):
        old = pmf.summary(fit, model)
    new = pmf.summary(model, fit)
    assert old.equals(new)
    with pytest.raises(TypeError, match="needs fit"):
        pmf.summary(model)


def test_required_arguments_after_the_model_are_named_when_missing(model):
    with pytest.raises(TypeError, match="point_a and point_b"):
        pmf.geodesic(model, POINT)
    with pytest.raises(TypeError, match="needs idata"):
        pmf.posterior_fisher_information(model)
    with pytest.raises(TypeError, match="needs idata"):
        pmf.stein_discrepancy(model)
    with pytest.raises(TypeError, match="needs idata"):
        pmf.stein_thin(model)


def test_a_datatree_point_points_to_the_posterior_function(model):
    post = xr.Dataset({"mu": (("chain", "draw"), [[0.0]]), "sigma": (("chain", "draw"), [[1.0]])})
    with pytest.raises(TypeError, match="posterior_fisher_information"):
        pmf.fisher_information(model, xr.DataTree.from_dict({"posterior": post}))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "observed", "method": "analytic"}, "method does not apply with kind='observed'"),
        ({"kind": "empirical", "method": "monte_carlo"}, "method does not apply"),
        ({"draws": 100}, "draws does not apply with method='auto'"),
        ({"method": "analytic", "random_seed": 1}, "random_seed does not apply"),
        ({"kind": "observed", "draws": 5, "random_seed": 1}, "draws, random_seed do not apply"),
    ],
)
def test_an_option_that_does_not_apply_is_an_error(options, message, model):
    with pytest.raises(ValueError, match=message):
        pmf.fisher_information(model, POINT, **options)


def test_a_seed_without_a_choice_of_draws_is_an_error(model):
    post = xr.Dataset({"mu": (("chain", "draw"), [[0.0]]), "sigma": (("chain", "draw"), [[1.0]])})
    tree = xr.DataTree.from_dict({"posterior": post})
    with pytest.raises(ValueError, match="random_seed does not apply with max_draws=None"):
        pmf.posterior_fisher_information(model, tree, random_seed=1)
    with pytest.raises(ValueError, match="random_seed does not apply with max_draws=None"):
        pmf.optimize_design(model, "x", random_seed=1)


def test_fit_laplace_softabs_alpha_only_with_softabs(model):
    with pytest.raises(ValueError, match="softabs_alpha does not apply"):
        pmf.fit_laplace(model, softabs_alpha=10.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: pmf.fisher_information(m, space="natural"), "space='natural'"),
        (lambda m: pmf.fit_laplace(m, curvature="hessian"), "curvature='hessian'"),
        (lambda m: pmf.fit_laplace(m, on_non_positive_definite="ignore"), "'jitter'"),
        (lambda m: pmf.geodesic(m, POINT, POINT, space="natural"), "space='natural'"),
    ],
)
def test_options_are_checked_by_one_helper(call, message, model):
    with pytest.raises(ValueError, match=message):
        call(model)


SEEDS = {
    "int": lambda: 7,
    "list": lambda: [7, 8],
    "seed_sequence": lambda: np.random.SeedSequence(7),
    "generator": lambda: np.random.default_rng(7),
    "bit_generator": lambda: np.random.PCG64(7),
    "random_state": lambda: np.random.RandomState(7),
}


# 30 draws of a skewed posterior (4 observations of a scale): k̂ may pass 0.7 and warn; what is
# tested here is that a seed reproduces the draws
@pytest.mark.filterwarnings("ignore::pymc_fisher.ParetoKWarning")
@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_random_seed_takes_what_pymc_takes(kind, model):
    def run():
        return pmf.fisher_information(
            model, POINT, method="monte_carlo", draws=20, random_seed=SEEDS[kind]()
        ).values

    np.testing.assert_array_equal(run(), run())  # the same seed, the same draws
    fit = pmf.fit_laplace(model, draws=30, random_seed=SEEDS[kind]())
    again = pmf.fit_laplace(model, draws=30, random_seed=SEEDS[kind]())
    np.testing.assert_array_equal(fit.posterior.mu.values, again.posterior.mu.values)


def test_an_int_seed_keeps_numpy_streams_and_a_generator_advances():
    assert as_generator(3).random() == np.random.default_rng(3).random()
    assert seed_sequence(3).entropy == 3
    rng = np.random.default_rng(0)
    first, second = seed_sequence(rng), seed_sequence(rng)
    assert first.entropy != second.entropy
    with pytest.raises(TypeError, match="not a seed"):
        seed_sequence(1.5)  # type: ignore[arg-type]


def test_posterior_information_takes_a_generator_for_the_choice_of_draws():
    with pm.Model() as model:
        mu = pm.Normal("mu")
        pm.Normal("y", mu, 1.0, observed=Y)
    post = xr.Dataset({"mu": (("chain", "draw"), np.linspace(-1, 1, 10)[None])})
    tree = xr.DataTree.from_dict({"posterior": post})
    info = pmf.posterior_fisher_information(
        model, tree, max_draws=3, random_seed=np.random.default_rng(1)
    )
    assert info.attrs["posterior_draws"] == 3
    np.testing.assert_allclose(info.sel(stat="mean").values, [[len(Y)]])

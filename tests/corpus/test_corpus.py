"""Every corpus model through the package's three doors: information, Laplace, RMHMC.

Default tier: each kind of ``fisher_information`` the model allows is finite and symmetric;
``fit_laplace`` gives a fit or a typed ``pymc_fisher`` error; ``RMHMC()`` constructs.
Slow tier: ``pm.sample(step=pmf.RMHMC())`` with default options against the stored nutpie
reference (``tests/corpus/reference``, made by ``benchmarks/corpus_reference.py``).

A failure here is a gap of the package on a real model (issue 13), not of the test: the default
tier passes on every model; a slow-tier failure is the sampler's on that model, measured and
described in ``benchmarks/bench_corpus_results.md``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pymc as pm
import pytest

import pymc_fisher as pmf
from pymc_fisher.errors import FisherError
from pymc_fisher.laplace import ModeNotFoundError
from tests.corpus.models import CORPUS, NAMES
from tests.corpus.reference import load_reference, mean_z_scores, summary_stats

pytestmark = pytest.mark.corpus

# Slow tier: 2 chains x 1000 draws after 500 tuning steps per model (budget: the whole tier in
# about 15 minutes on 2 cores; 2 x 500 left R-hat, over 4 split halves of 250, too noisy for
# its 1.01 bound: 1.015 on eight schools non-centered, whose means matched). Each mean is
# tested at |z| <= 4, z the difference of the short run's mean and the reference's over the
# root sum of their squared MCSEs: a false alarm of 6.3e-5 per scalar, at most 0.7 % for a
# model's largest variable set (102 scalars).
CHAINS, DRAWS, TUNE, SEED = 2, 1000, 500, 20261129
Z_MAX = 4.0
RHAT_MAX = 1.01

_MODELS: dict[str, pm.Model] = {}


def corpus_model(name: str) -> pm.Model:
    """One model object per name for the whole session (its compiled graphs are cached)."""
    if name not in _MODELS:
        _MODELS[name] = CORPUS[name].build()
    return _MODELS[name]


def _cases() -> list:
    return [
        pytest.param(name, k, p, id=f"{name}-{k}-{'prior' if p else 'lik'}")
        for name in NAMES
        for k, p in CORPUS[name].information_kinds
    ]


@pytest.mark.parametrize(("name", "kind", "include_prior"), _cases())
def test_information_is_finite_and_symmetric(name, kind, include_prior):
    model = corpus_model(name)
    # method="analytic": the expected information must not fall back to Monte Carlo
    method = "analytic" if kind == "expected" else "auto"
    matrix = pmf.fisher_information(model, kind=kind, include_prior=include_prior, method=method)
    values = np.asarray(matrix)
    size = sum(np.size(v) for v in model.initial_point().values())
    assert values.shape == (size, size)
    assert np.all(np.isfinite(values)), matrix["rows"].values[~np.isfinite(values).all(axis=1)]
    scale = max(1.0, float(np.max(np.abs(values))))
    np.testing.assert_allclose(values, values.T, rtol=0.0, atol=1e-10 * scale)


def test_corpus_has_models_without_likelihood_and_with_each_construct():
    tags = [CORPUS[n].tags for n in NAMES]
    assert len(NAMES) >= 28
    assert any("likelihood" not in t for t in tags)
    for construct in ("potential", "ordered", "simplex", "mixture", "scan", "latent"):
        assert any(construct in t for t in tags), construct


@pytest.mark.parametrize("name", NAMES)
def test_reference_covers_every_free_variable(name):
    ref = load_reference(name)
    model = CORPUS[name].build()
    assert set(ref.draws) == {rv.name for rv in model.free_RVs}
    for rv in model.free_RVs:
        assert ref.draws[rv.name].shape[2:] == tuple(rv.shape.eval()), rv.name
        assert ref.draws[rv.name].shape[:2] == (4, 250)
    assert ref.meta["converged"], ref.meta
    assert ref.meta["max_rhat"] <= RHAT_MAX


@pytest.mark.parametrize("name", NAMES)
def test_laplace_fits_or_raises_a_typed_error(name):
    model = corpus_model(name)
    if "no_mode" in CORPUS[name].tags:
        with pytest.raises(ModeNotFoundError):
            pmf.fit_laplace(model, draws=200, random_seed=0)
        return
    with warnings.catch_warnings():
        # the Pareto k̂ warning is the fit's honest verdict on the Gaussian, not a failure
        warnings.filterwarnings("ignore", category=UserWarning, message="Pareto k")
        try:
            fit = pmf.fit_laplace(model, draws=200, random_seed=0)
        except FisherError:  # typed: the message names the variable and what to do
            return
    mean = np.asarray(fit["fit"]["mean_vector"])
    assert np.all(np.isfinite(mean))


# PyMC's initial point of an LKJ model holds a Scan the C linker compiles, and PyTensor then says,
# once per process, that it found no BLAS to link: not the kernel's business
@pytest.mark.filterwarnings("ignore:PyTensor could not link to a BLAS:UserWarning")
@pytest.mark.parametrize("name", NAMES)
def test_rmhmc_runs_every_model_in_the_compiled_kernel(name):
    # no op of the model's functions (log density, metric, its derivative) leaves the compiled
    # kernel: none runs in Numba's object mode, and the kernel agrees with the reference
    with corpus_model(name), warnings.catch_warnings():
        warnings.simplefilter("error", pmf.KernelFallbackWarning)
        step = pmf.RMHMC()
        assert step._compiled.object_mode_ops == ()
        assert step.kernel.name == "compiled"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_rmhmc_matches_the_reference(name):
    ref = load_reference(name)
    model = CORPUS[name].build()
    with model:
        idata = pm.sample(
            draws=DRAWS, tune=TUNE, chains=CHAINS, cores=1, step=pmf.RMHMC(),
            random_seed=SEED, progressbar=False, compute_convergence_checks=False,
        )  # fmt: skip
    draws = {v: idata.posterior[v].to_numpy() for v in ref.draws}
    z = mean_z_scores(draws, ref)
    worst = {v: float(np.max(np.abs(zv))) for v, zv in z.items()}
    assert max(worst.values()) <= Z_MAX, f"|z| of the means by variable: {worst}"
    rhat = {v: float(np.max(summary_stats(x)["rhat"])) for v, x in draws.items()}
    assert max(rhat.values()) <= RHAT_MAX, f"R-hat by variable: {rhat}"

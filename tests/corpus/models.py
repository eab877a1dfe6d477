"""The corpus: real models written from public examples, by name, with tags.

Each builder is a small function returning a fresh ``pm.Model``; its docstring cites the source
and says where the data come from. ``CORPUS`` maps a name to a :class:`CorpusModel`.

Tags
----
``likelihood``
    The model has observed variables (likelihood information applies: expected, observed, and,
    when every observed variable has independent elementwise terms, empirical).
``empirical``
    Per-observation scores exist (the observed variables factor over observations).
``no_mode``
    The density in the sampler's coordinates has no mode: a centered hierarchy of k ≥ 2 values
    under a scale with a log transform (eight schools, radon, hierarchical logistic, random
    walks, the latent covariate). With every value at its mean the density is
    ``σ^(1-k) p(σ) · (bounded)``, unbounded as ``σ → 0``; ``fit_laplace`` must end in
    ``ModeNotFoundError``. (Neal's funnel has a mode: its N(0, 3) prior on v wins, at
    v = -40.5.)
``latent``
    Has a latent vector whose size grows with the data (random walk, measurement error).
``potential``, ``mixture``, ``ordered``, ``simplex``, ``scan``, ``censored``, ``gp``
    Constructs the package must handle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import pymc as pm

from tests.corpus import hierarchical as h
from tests.corpus import multivariate as mv
from tests.corpus import regression as r
from tests.corpus import timeseries as ts


class CorpusModel(NamedTuple):
    """A corpus entry: the builder and its tags."""

    name: str
    build: Callable[[], pm.Model]
    tags: frozenset[str]

    @property
    def has_likelihood(self) -> bool:
        """Whether the model has observed variables."""
        return "likelihood" in self.tags

    @property
    def information_kinds(self) -> list[tuple[str, bool]]:
        """``(kind, include_prior)`` of every ``fisher_information`` the model allows."""
        kinds = [("expected", True), ("observed", True)]
        if "likelihood" in self.tags:
            kinds += [("expected", False), ("observed", False)]
        if "empirical" in self.tags:
            kinds.append(("empirical", False))
        return kinds


def _entry(build: Callable[[], pm.Model], *tags: str) -> CorpusModel:
    return CorpusModel(build.__name__, build, frozenset(tags))


_L = "likelihood"
_E = "empirical"

CORPUS: dict[str, CorpusModel] = {
    m.name: m
    for m in [
        _entry(h.radon_centered, _L, _E, "no_mode"),
        _entry(h.radon_noncentered, _L, _E),
        _entry(h.eight_schools_centered, _L, _E, "no_mode"),
        _entry(h.eight_schools_noncentered, _L, _E),
        _entry(h.eight_schools_uniform_tau, _L, _E),
        _entry(h.hierarchical_logistic_centered, _L, _E, "no_mode"),
        _entry(h.hierarchical_logistic_noncentered, _L, _E),
        _entry(h.smoking_meta_analysis, _L, _E),
        _entry(h.neals_funnel),
        _entry(r.robust_regression, _L, _E),
        _entry(r.negative_binomial_counts, _L, _E),
        _entry(r.zero_inflated_poisson, _L, _E, "mixture"),
        _entry(r.ordinal_regression, _L, _E, "ordered"),
        _entry(r.poisson_glm, _L, _E),
        _entry(r.beta_regression, _L, _E),
        _entry(r.weibull_survival, _L, _E),
        _entry(r.censored_weibull_survival, _L, _E, "censored"),
        _entry(r.weibull_aft_potential, _L, _E, "potential"),
        _entry(r.logistic_regression_spector, _L, _E),
        _entry(r.german_credit, _L, _E),
        _entry(r.half_student_t_regression, _L, _E),
        _entry(r.bayesian_lasso, _L, _E),
        _entry(r.exgaussian_reaction_times, _L, _E),
        _entry(r.measurement_error, _L, _E, "latent", "no_mode"),
        _entry(r.ordered_proportions, _L, _E),
        _entry(ts.stochastic_volatility, _L, _E, "latent", "no_mode"),
        _entry(ts.stochastic_volatility_noncentered, _L, _E, "latent"),
        _entry(ts.ar5_sunspots, _L, _E),
        _entry(ts.ar2_distribution, _L),
        _entry(ts.garch11, _L, _E, "scan"),
        _entry(ts.coal_mining_changepoint, _L, _E),
        _entry(ts.nile_local_level, _L, _E, "latent", "no_mode"),
        _entry(mv.gp_regression, _L, "gp"),
        _entry(mv.gaussian_mixture, _L, _E, "mixture", "ordered", "simplex"),
        _entry(mv.dirichlet_multinomial, _L, _E, "simplex"),
        _entry(mv.lkj_mvnormal, _L, _E),
    ]
}

NAMES = sorted(CORPUS)


def build(name: str) -> pm.Model:
    """A fresh model of the corpus entry ``name``."""
    return CORPUS[name].build()

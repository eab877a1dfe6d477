"""``pmf.sample``: one door that picks the sampler, with ``pm.sample``'s run arguments.

- ``method="nuts"``: the model reparametrised by its Fisher information
  (:func:`pymc_fisher.reparametrize`), sampled by nutpie, PyMC's default NUTS
  (:mod:`pymc_fisher.reparam.nuts`); PyMC's own NUTS where nutpie is not installed, with a
  warning that says so.
- ``method="nutpie"``: the model as it is, on nutpie with its defaults (what
  ``pm.sample(nuts_sampler="nutpie")`` runs), in the same ``DataTree``.
- ``method="rmhmc"``: Riemannian-manifold HMC with the Fisher metric, each chain in compiled
  code (:class:`pymc_fisher.samplers.sample.RMHMCSampler`).
- ``method="auto"`` (default): ``"nuts"`` when the model has a latent block whose prior
  outweighs its data (the median data-to-prior information ratio ρ of the block below one,
  :mod:`pymc_fisher.reparam.dominance`: the centred form is a funnel there, which nutpie's
  diagonal adaptation cannot learn), else ``"nutpie"``; the choice and its reason in
  ``idata.attrs``.

Why ``"auto"`` leaves the other models to nutpie as they are: measured on the corpus
(``benchmarks/bench_fisher_first.py``), the reparametrisation gains up to 4.8× in ESS per second
of sampling on them, but its graph costs nutpie 2–4× its compile time (seconds of Numba per run,
which nutpie cannot cache), and on most of those models sampling takes a fraction of a second:
per wall second it loses. On the corpus's data-dominated hierarchies (centred radon ρ = 14,
hierarchical logistic 7.3, measurement error 44) it measured 0.13–0.51× nutpie per wall second;
on the prior-dominated ones (eight schools 0.21, the funnel 0) 9–57×. RMHMC is not chosen by
``"auto"`` yet: a rule for when its position-dependent metric pays (about twenty gradients a
step) has not been fitted.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import pymc as pm
from pymc.model import modelcontext

from pymc_fisher.reparam.blocks import latent_block_names
from pymc_fisher.reparam.dominance import CROSSOVER, data_to_prior_ratio
from pymc_fisher.reparam.nuts import (
    default_tune,
    drop_coordinates,
    nutpie_available,
    sample_reparametrized,
    stored_names,
)
from pymc_fisher.reparam.transform import Whiten, reparametrize
from pymc_fisher.samplers.drivers.sample import RMHMCSampler
from pymc_fisher.validation import check_continuous, check_option

__all__ = ["NutpieFallbackWarning", "sample"]

Method = Literal["auto", "nuts", "nutpie", "rmhmc"]

#: Options of ``method="nuts"`` (the rest of ``**options`` belong to RMHMC).
NUTS_OPTIONS = frozenset({"noncenter", "whiten", "nuts"})

#: Warm-up iterations of RMHMC when ``tune`` is not given.
TUNE_RMHMC = 1000


class NutpieFallbackWarning(UserWarning):
    """nutpie is not installed: ``method="nuts"`` runs PyMC's own NUTS, slower."""


def sample(
    draws: int = 1000,
    *,
    method: Method = "auto",
    tune: int | None = None,
    chains: int = 4,
    cores: int | None = None,
    random_seed: Any = None,
    initvals: dict | Sequence[dict | None] | None = None,
    progressbar: bool = True,
    model: pm.Model | None = None,
    var_names: Sequence[str] | None = None,
    discard_tuned_samples: bool = True,
    compute_convergence_checks: bool = True,
    idata_kwargs: dict | None = None,
    **options: Any,
) -> Any:
    """Draw from the posterior with the sampler its geometry calls for.

    Parameters
    ----------
    draws, chains, cores, random_seed, progressbar, var_names, discard_tuned_samples
        As for ``pm.sample``.
    method
        ``"auto"``, ``"nuts"``, ``"nutpie"`` or ``"rmhmc"`` (module docstring).
    tune
        Warm-up iterations per chain; default: 200 for ``"nuts"`` when the whitening found a
        mode (the mass matrix is then about the identity already), 400 (nutpie's default)
        when it did not and for ``"nutpie"``, 1000 for ``"rmhmc"``.
    initvals
        Initial values of the original variables, for ``"rmhmc"`` and ``"nutpie"`` (one dict);
        ``"nuts"`` starts at the mode of the reparametrised model, jittered by nutpie.
    model
        The model (default: from the context).
    compute_convergence_checks, idata_kwargs
        As for ``pm.sample`` (``idata_kwargs={"log_likelihood": True}`` computes the
        pointwise log-likelihood of the original model).
    **options
        For ``"nuts"``: ``noncenter``, ``whiten`` (:func:`~pymc_fisher.reparametrize`) and
        ``nuts`` (a dict of nutpie's sampling options). For ``"rmhmc"``:
        :class:`~pymc_fisher.RMHMC`'s options (``metric``, ``path_length``, ...), ``jitter``
        (default ``True``: each chain starts at its initial point jittered as ``pm.sample``'s
        NUTS does; ``False``: the points ``pm.sample(step=pmf.RMHMC())`` starts from) and
        ``mp_ctx`` (as ``pm.sample``'s, for the chains that run in processes).

    Returns
    -------
    xarray.DataTree
        Laid out as ``pm.sample``'s, in the original variables, whichever method ran; its
        ``attrs`` say which (``method``) and, for ``"auto"``, why (``method_reason``).

    Raises
    ------
    DiscreteVariableError
        A discrete free variable (sample it with ``pm.sample(step=[pmf.RMHMC(vars=...),
        ...])``).
    ValueError
        An option that does not apply to the method, named.
    ChainFailedError
        ``"rmhmc"``: every chain failed (each chain's reason in the message). A chain that
        fails alone is logged with its reason and left out; a ``KeyboardInterrupt`` returns
        what every chain drew so far.

    Examples
    --------
    >>> import pymc as pm
    >>> import pymc_fisher as pmf
    >>> with pm.Model() as model:
    ...     x = pm.Normal("x", 0.0, 1.0, shape=2)
    >>> idata = pmf.sample(50, tune=50, chains=2, model=model, progressbar=False,
    ...                    random_seed=1, compute_convergence_checks=False, method="rmhmc")
    >>> idata.posterior["x"].shape
    (2, 50, 2)
    """
    model = modelcontext(model)
    check_option("method", method, Method)
    check_continuous(
        model,
        advice=(
            "pmf.sample samples continuous variables only; give the discrete ones their own "
            "step: pm.sample(step=[pmf.RMHMC(vars=[...]), pm.Metropolis([...])])."
        ),
    )
    reason = f"method={method!r}"
    if method == "auto":
        method, reason = _choose(model, options)
    run = dict(
        draws=draws, chains=chains, cores=cores, random_seed=random_seed,
        progressbar=progressbar, var_names=var_names,
        discard_tuned_samples=discard_tuned_samples,
        compute_convergence_checks=compute_convergence_checks, idata_kwargs=idata_kwargs,
    )  # fmt: skip
    if method == "rmhmc":
        wrong = sorted(set(options) & NUTS_OPTIONS)
        if wrong:
            raise ValueError(f"Options {wrong} apply to method='nuts', not 'rmhmc'.")
        runs = {k: options.pop(k) for k in ("jitter", "mp_ctx") if k in options}
        idata = RMHMCSampler(**options).sample_from_init(
            model=model, tune=TUNE_RMHMC if tune is None else tune, initvals=initvals, **run,
            **runs,
        )  # fmt: skip
        idata.attrs["method"] = "rmhmc"
    elif method == "nutpie":
        if options:
            raise ValueError(f"Options {sorted(options)} do not apply to method='nutpie'.")
        idata = _sample_nutpie(model, tune=tune, initvals=initvals, **run)
    else:
        wrong = sorted(set(options) - NUTS_OPTIONS)
        if wrong:
            raise ValueError(
                f"Options {wrong} do not apply to method='nuts' (it takes "
                f"{sorted(NUTS_OPTIONS)}); RMHMC's options need method='rmhmc'."
            )
        if initvals is not None:
            raise ValueError(
                "initvals apply to method='rmhmc'; method='nuts' starts at the mode of the "
                "reparametrised model."
            )
        if nutpie_available():
            idata = sample_reparametrized(model, tune=tune, **run, **options)
        else:
            idata = _sample_pymc_nuts(model, tune=tune, **run, **options)
    idata.attrs["method_reason"] = reason
    return idata


def _choose(model: pm.Model, options: dict) -> tuple[Method, str]:
    """``"auto"``'s pick and its reason (module docstring)."""
    rmhmc_options = sorted(set(options) - NUTS_OPTIONS)
    if rmhmc_options:
        raise ValueError(
            f"Options {rmhmc_options} belong to RMHMC; pass method='rmhmc' with them "
            "(method='auto' picks the sampler itself)."
        )
    blocks = latent_block_names(model)
    if options:
        return "nuts", f"auto: options {sorted(options)} given for the reparametrisation"
    if not blocks:
        return "nutpie", (
            "auto: no latent block to non-centre; nutpie on the model as it is (the whitening "
            "alone does not repay its compile on such models)"
        )
    ratios = data_to_prior_ratio(model)
    said = ", ".join(f"{name} {rho:.3g}" for name, rho in ratios.items())
    if any(rho < CROSSOVER for rho in ratios.values()):
        return "nuts", (
            f"auto: a latent block whose prior outweighs its data (median data-to-prior "
            f"information ratio {said}; below {CROSSOVER:g} the centred form is a funnel): "
            "the Fisher reparametrisation on nutpie"
        )
    return "nutpie", (
        f"auto: every latent block is informed by its data more than by its prior (median "
        f"data-to-prior information ratio {said}, at least {CROSSOVER:g}): nutpie on the model "
        "as it is"
    )


def _sample_nutpie(
    model: pm.Model, *, tune: int | None, var_names: Sequence[str] | None, **run: Any
) -> Any:
    """The model as it is on nutpie, as ``pm.sample(nuts_sampler="nutpie")`` runs it."""
    if not nutpie_available():
        warnings.warn(
            "nutpie is not installed, so method='nutpie' runs PyMC's own NUTS, several times "
            "slower per draw: pip install nutpie.",
            NutpieFallbackWarning,
            stacklevel=3,
        )
    sampler = "nutpie" if nutpie_available() else "pymc"
    idata = pm.sample(model=model, tune=tune, var_names=var_names, nuts_sampler=sampler, **run)
    idata.attrs["method"] = "nutpie"
    if "sampling_time" in idata.posterior.attrs:  # where the other methods keep it
        idata.attrs["sampling_time"] = float(idata.posterior.attrs["sampling_time"])
    return idata


def _sample_pymc_nuts(
    model: pm.Model, *, tune: int | None, noncenter: bool = True, whiten: Whiten = "auto",
    nuts: dict | None = None, **run: Any,
) -> Any:  # fmt: skip
    """``method="nuts"`` without nutpie: the reparametrised model on PyMC's own NUTS."""
    warnings.warn(
        "nutpie is not installed, so method='nuts' runs PyMC's own NUTS on the reparametrised "
        "model, several times slower per draw: pip install nutpie.",
        NutpieFallbackWarning,
        stacklevel=3,
    )
    new = reparametrize(model, noncenter=noncenter, whiten=whiten)
    var_names = stored_names(model, run.pop("var_names"))
    idata = pm.sample(
        model=new, tune=default_tune(new) if tune is None else tune, nuts_sampler="pymc",
        var_names=var_names, nuts=nuts or {}, **run,
    )  # fmt: skip
    idata = drop_coordinates(idata)
    idata.attrs["method"] = "nuts"
    return idata

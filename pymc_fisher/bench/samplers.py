"""Samplers of comparison studies, by name: each runs one model and reports its timings.

A sampler is a function ``fn(model, settings) -> SamplerRun`` (or a bare ``DataTree``, in which
case the runner times the whole call and records no compile time). Compilation is timed apart
from sampling: the adapters build the compiled step (or model) first, then sample.

========================  ===============================================================
name                      what runs
========================  ===============================================================
``nuts``                  PyMC's own NUTS (``nuts_sampler="pymc"``), chains in sequence
``nutpie``                nutpie, compiled with numba, as ``pm.sample(nuts_sampler="nutpie")``
``fisher``                ``pmf.sample`` with its defaults (the Fisher reparametrisation on nutpie)
``rmhmc``                 ``pymc_fisher`` RMHMC with its defaults (``pmf.sample``: compiled chains)
``rmhmc-step``            the same through ``pm.sample(step=pmf.RMHMC())``
``rmhmc-fisher``          RMHMC, Fisher metric, fixed-length trajectory
``rmhmc-softabs``         RMHMC, SoftAbs metric, fixed-length trajectory
``rmhmc-hessian``         RMHMC, Hessian metric, fixed-length trajectory
``rmhmc-nuts``            RMHMC, Fisher metric, Riemannian No-U-Turn trajectory
``rmhmc-softabs-nuts``    RMHMC, SoftAbs metric, Riemannian No-U-Turn trajectory
``laplace``               baseline: independent draws from ``pymc_fisher.fit_laplace``
========================  ===============================================================

The RMHMC and Laplace adapters import their modules only when they run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pymc as pm
import xarray as xr

from pymc_fisher.bench.errors import StudyError, UnknownSamplerError

__all__ = [
    "RunSettings",
    "SamplerFn",
    "SamplerRun",
    "available_samplers",
    "get_sampler",
    "register_sampler",
    "sample_fisher",
    "sample_laplace",
    "sample_nutpie",
    "sample_nuts",
    "sample_rmhmc",
    "sample_rmhmc_step",
]


class RunSettings(NamedTuple):
    """What one run is asked for: draws and tuning steps per chain, chains, seed."""

    draws: int
    tune: int
    chains: int
    seed: int


class SamplerRun(NamedTuple):
    """What a sampler hands back: its ``DataTree`` and where the time went.

    ``iid`` marks independent draws (the Laplace baseline): their effective sample size is the
    number of draws and their Monte Carlo standard error ``sd / sqrt(n)``.
    """

    tree: xr.DataTree
    compile_seconds: float
    sample_seconds: float
    iid: bool = False


SamplerFn = Callable[[pm.Model, RunSettings], "SamplerRun | xr.DataTree"]


@contextlib.contextmanager
def _quiet_pymc() -> Iterator[None]:
    """Silence PyMC's log lines below errors ("Sequential sampling", "Only 50 samples").

    A study prints its own progress and reports R-hat and ESS in its table.
    """
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _sample_with_step(
    model: pm.Model, settings: RunSettings, make_step: Callable[[], object]
) -> SamplerRun:
    with model, _quiet_pymc():
        start = time.perf_counter()
        step = make_step()
        compiled = time.perf_counter()
        tree = pm.sample(
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=1,  # a study runs in parallel across runs, not across chains
            step=step,
            random_seed=settings.seed,
            progressbar=False,
            discard_tuned_samples=False,  # keep the warm-up statistics: gradients spent there
            compute_convergence_checks=False,
        )
        done = time.perf_counter()
    return SamplerRun(tree, compiled - start, done - compiled)


def sample_nuts(model: pm.Model, settings: RunSettings) -> SamplerRun:
    """PyMC's own NUTS; compile time is the construction of the step (logp and gradient)."""
    return _sample_with_step(model, settings, pm.NUTS)


def sample_nutpie(model: pm.Model, settings: RunSettings) -> SamplerRun:
    """Nutpie with the numba backend, compiled and sampled in two timed calls."""
    import nutpie

    with _quiet_pymc():
        start = time.perf_counter()
        compiled_model = nutpie.compile_pymc_model(model, backend="numba")
        compiled = time.perf_counter()
        tree = nutpie.sample(
            compiled_model,
            draws=settings.draws,
            tune=settings.tune,
            chains=settings.chains,
            cores=1,
            seed=settings.seed,
            save_warmup=True,
            progress_bar=False,
        )
        done = time.perf_counter()
    return SamplerRun(tree, compiled - start, done - compiled)


def sample_rmhmc(model: pm.Model, settings: RunSettings, **options: Any) -> SamplerRun:
    """``pymc_fisher`` RMHMC through ``pmf.sample``; ``options`` go to ``RMHMC``.

    Its defaults otherwise (``jitter``, too, is an option: ``False`` starts every chain where
    ``pm.sample(step=pmf.RMHMC())`` does). Chains run one after the other (``cores=1``: a study
    runs in parallel across runs); the compile time is ``pmf.sample``'s own (the model's
    functions and the kernel's binding). Register a variant with other options through
    ``functools.partial``::

        register_sampler(
            "rmhmc-long", functools.partial(sample_rmhmc, metric="fisher", path_length=10.0)
        )
    """
    from pymc_fisher.samplers.drivers.sample import RMHMCSampler

    jitter = options.pop("jitter", True)
    with _quiet_pymc():
        tree = RMHMCSampler(**options).sample_from_init(
            model=model, draws=settings.draws, tune=settings.tune, chains=settings.chains,
            cores=1, random_seed=settings.seed, progressbar=False, discard_tuned_samples=False,
            compute_convergence_checks=False, jitter=jitter,
        )  # fmt: skip
    return SamplerRun(tree, tree.attrs["compile_time"], tree.attrs["sampling_time"])


def sample_fisher(model: pm.Model, settings: RunSettings) -> SamplerRun:
    """``pmf.sample`` with its defaults; compile time includes the set-up.

    ``method="auto"``: the Fisher reparametrisation on nutpie where the model has latent
    blocks, nutpie as it is elsewhere. The set-up is the graphs, the mode and the whitening.
    """
    from pymc_fisher.sampling import sample

    with _quiet_pymc():
        start = time.perf_counter()
        tree = sample(
            settings.draws, tune=settings.tune, chains=settings.chains, cores=1, model=model,
            random_seed=settings.seed, progressbar=False, discard_tuned_samples=False,
            compute_convergence_checks=False,
        )  # fmt: skip
        total = time.perf_counter() - start
    sampling = float(tree.attrs.get("sampling_time", tree.posterior.attrs.get("sampling_time")))
    return SamplerRun(tree, total - sampling, sampling)


def sample_rmhmc_step(model: pm.Model, settings: RunSettings, **options: Any) -> SamplerRun:
    """RMHMC as PyMC's step method, ``pm.sample(step=pmf.RMHMC(**options))``."""
    from pymc_fisher.samplers.drivers.step import RMHMC

    return _sample_with_step(model, settings, functools.partial(RMHMC, **options))


def sample_laplace(model: pm.Model, settings: RunSettings) -> SamplerRun:
    """Baseline row: ``chains × draws`` independent draws from the Laplace approximation.

    Mode finding and compilation are not separable from outside, so ``compile_seconds`` is NaN
    and the whole fit counts as sampling time.
    """
    from pymc_fisher.laplace import fit_laplace

    start = time.perf_counter()
    tree = fit_laplace(
        model, chains=settings.chains, draws=settings.draws, random_seed=settings.seed
    )
    done = time.perf_counter()
    return SamplerRun(tree, float("nan"), done - start, iid=True)


_SAMPLERS: dict[str, SamplerFn] = {}


def register_sampler(name: str, fn: SamplerFn, *, overwrite: bool = False) -> SamplerFn:
    """Make ``fn`` available to studies and the command line under ``name``.

    Parameters
    ----------
    name : str
    fn : callable
        ``fn(model, settings: RunSettings) -> SamplerRun | DataTree``. It runs in a worker
        process, so it must be picklable by ``cloudpickle``.
    overwrite : bool
        Replace a registered sampler of the same name instead of raising.

    Returns
    -------
    callable
        ``fn``, so that this can be used as a decorator through ``functools.partial``.
    """
    key = name.strip().lower()
    if key in _SAMPLERS and not overwrite:
        raise StudyError(f"a sampler named {name!r} is already registered")
    _SAMPLERS[key] = fn
    return fn


def available_samplers() -> list[str]:
    """Names of the registered samplers.

    Examples
    --------
    >>> {"nuts", "nutpie", "rmhmc", "laplace"} <= set(available_samplers())
    True
    """
    return sorted(_SAMPLERS)


def get_sampler(name: str) -> SamplerFn:
    """Return the sampler registered as ``name``.

    Raises
    ------
    UnknownSamplerError
        With the list of registered names.
    """
    try:
        return _SAMPLERS[name.strip().lower()]
    except KeyError:
        raise UnknownSamplerError(
            f"no sampler named {name!r}; registered: {', '.join(available_samplers())}"
        ) from None


register_sampler("nuts", sample_nuts)
register_sampler("nutpie", sample_nutpie)
register_sampler("rmhmc", sample_rmhmc)
register_sampler("fisher", sample_fisher)
register_sampler("rmhmc-step", sample_rmhmc_step)
register_sampler("laplace", sample_laplace)
for _metric, _trajectory in [
    ("fisher", "fixed"),
    ("softabs", "fixed"),
    ("hessian", "fixed"),
    ("fisher", "nuts"),
    ("softabs", "nuts"),
]:
    _name = f"rmhmc-{_metric}" if _trajectory == "fixed" else f"rmhmc-{_metric}-nuts"
    register_sampler(
        _name.replace("-fisher-nuts", "-nuts"),
        functools.partial(sample_rmhmc, metric=_metric, trajectory=_trajectory),
    )
# a fixed path of 10 (the hand-tuned setting of earlier versions, before path_length="auto")
register_sampler(
    "rmhmc-long",
    functools.partial(sample_rmhmc, metric="fisher", path_length=10.0, target_accept=0.9),
)

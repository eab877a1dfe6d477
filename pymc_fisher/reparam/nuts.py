"""``pmf.sample(method="nuts")``: the reparametrised model on nutpie, returned as ``pm.sample``'s.

One compile serves the whole run: nutpie compiles the reparametrised model with its whitening
at the identity (``fisher_shift``, ``fisher_scale`` are shared variables); the mode of the
non-centred density is found with that compiled ``log p`` and gradient; the whitening is written
into the compiled model (``with_data``) and nutpie samples. The ``DataTree`` is in the original
variables: the new coordinates ``fisher_z`` are dropped, ``constant_data`` and
``observed_data`` are the original model's (PyMC's ``patch_nutpie_idata``), and
``log_likelihood`` is computed on the original model when ``idata_kwargs`` asks for it.
"""

from __future__ import annotations

import importlib.util
import logging
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
from pymc.backends.arviz import patch_nutpie_idata
from pymc.stats.convergence import log_warnings, run_convergence_checks
from pymc.util import _get_seeds_per_chain

from pymc_fisher.errors import FisherError
from pymc_fisher.reparam.transform import (
    COORDINATES,
    build,
    fit_and_set_whitening,
    reparametrization_of,
    whitening_values,
)

__all__ = [
    "NutpieMissingError",
    "default_tune",
    "drop_coordinates",
    "nutpie_available",
    "sample_reparametrized",
    "stored_names",
]

_log = logging.getLogger("pymc")

#: Warm-up iterations when the whitening found a mode: the mass matrix nutpie would learn is
#: already about the identity, so a short warm-up (the step size, a diagonal correction)
#: serves. Without a mode, nutpie's own default.
TUNE_WHITENED = 200
TUNE_DEFAULT = 400


class NutpieMissingError(FisherError, ImportError):
    """``method="nuts"`` needs nutpie; the message says how to install it."""


def nutpie_available() -> bool:
    """Whether nutpie can be imported."""
    return importlib.util.find_spec("nutpie") is not None


def sample_reparametrized(
    model: pm.Model,
    *,
    draws: int,
    tune: int | None,
    chains: int,
    cores: int | None,
    random_seed: Any,
    progressbar: bool,
    var_names: Sequence[str] | None,
    discard_tuned_samples: bool,
    compute_convergence_checks: bool,
    idata_kwargs: dict | None,
    noncenter: bool = True,
    whiten: str = "auto",
    nuts: dict | None = None,
) -> Any:
    """Sample ``reparametrize(model)`` with nutpie (module docstring); ``pm.sample``'s layout."""
    if not nutpie_available():
        raise NutpieMissingError(
            "method='nuts' samples with nutpie, which is not installed: pip install nutpie "
            "(or method='rmhmc')."
        )
    import nutpie

    begin = time.perf_counter()
    new = build(model, noncenter=noncenter, whiten=whiten)
    built = time.perf_counter()
    stored = stored_names(model, var_names)
    compiled = nutpie.compile_pymc_model(new, backend="numba", var_names=stored)
    compiled_at = time.perf_counter()
    if whiten != "none":

        def logp_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
            with np.errstate(all="ignore"):
                f, g = compiled.logp_func(np.asarray(x, dtype="float64"))
            return float(f), np.asarray(g, dtype=float)

        whitening = fit_and_set_whitening(new, logp_grad, whiten, stacklevel=4)
        compiled = compiled.with_data(**whitening_values(whitening))
    fitted = time.perf_counter()
    info = reparametrization_of(new)
    assert info is not None
    if tune is None:
        tune = default_tune(new)
    seed = int(_get_seeds_per_chain(random_seed, chains)[0])
    start = time.perf_counter()
    idata = nutpie.sample(
        compiled,
        draws=draws,
        tune=max(int(tune), 1),  # nuts-rs panics with no tuning at all
        chains=chains,
        cores=cores,
        seed=seed,
        save_warmup=not discard_tuned_samples,
        progress_bar=progressbar,
        **(nuts or {}),
    )
    sampling_time = time.perf_counter() - start
    patch_nutpie_idata(idata, model, sampling_time=sampling_time)
    idata = drop_coordinates(idata)
    log_likelihood = (idata_kwargs or {}).get("log_likelihood", False)
    if log_likelihood:
        idata = pm.compute_log_likelihood(
            idata,
            var_names=None if log_likelihood is True else log_likelihood,
            model=model,
            extend_inferencedata=True,
            progressbar=False,
        )
    if compute_convergence_checks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            log_warnings(run_convergence_checks(idata, model))
    idata.attrs.update(
        {
            "method": "nuts",
            "noncentered": list(info.noncentered),
            "whitening": info.whitening.kind if info.whitening is not None else "none",
            "whitening_reason": info.whitening.reason if info.whitening is not None else "",
            "setup_time": (built - begin) + (fitted - compiled_at),
            "compile_time": compiled_at - built,
            "sampling_time": sampling_time,
            "tuning_steps": int(tune),
        }
    )
    return idata


def default_tune(new: pm.Model) -> int:
    """Warm-up for the reparametrised model: short when its whitening found a mode."""
    info = reparametrization_of(new)
    whitened = info is not None and info.whitening is not None and info.whitening.kind != "none"
    return TUNE_WHITENED if whitened else TUNE_DEFAULT


def stored_names(model: pm.Model, var_names: Sequence[str] | None) -> list[str]:
    """The original free variables and Deterministics to record (``var_names`` if given)."""
    names = [rv.name for rv in model.free_RVs] + [d.name for d in model.deterministics]
    if var_names is None:
        return names
    unknown = sorted(set(var_names) - set(names))
    if unknown:
        raise FisherError(
            f"var_names {unknown} are not free variables or Deterministics of the model; "
            f"choose among {names}."
        )
    return [n for n in names if n in set(var_names)]


def drop_coordinates(idata: Any) -> Any:
    """The tree without the new coordinates ``fisher_z`` (posterior and warm-up), in place."""
    dim = f"{COORDINATES}_dim"
    for group in ("posterior", "warmup_posterior"):
        if group in idata.children:
            ds = idata[group].to_dataset()
            if COORDINATES in ds:
                ds = ds.drop_vars(COORDINATES)
            if dim in ds.coords:
                ds = ds.drop_vars(dim)
            idata[group] = ds
    return idata

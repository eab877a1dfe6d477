"""From the chains' arrays to the ``DataTree`` that ``pm.sample`` returns.

The draws go through PyMC's own machinery — an ``NDArray`` trace per chain (whose compiled
function gives the constrained values and the deterministics of each draw), ``MultiTrace`` and
``pm.to_inference_data`` — so the groups, variables, dims and coords are those of
``pm.sample``, and so are its convergence checks and warnings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm
from pymc.backends.base import MultiTrace
from pymc.backends.ndarray import NDArray
from pymc.blocking import DictToArrayBijection, RaveledVars
from pymc.stats.convergence import log_warnings, run_convergence_checks
from pymc.util import drop_warning_stat

from pymc_fisher.samplers.core.chain import FLOAT_STATS, INT_STATS, KIND_CODES, ChainArrays
from pymc_fisher.samplers.core.types import DIVERGENCE_KINDS

__all__ = ["RECORDED_KINDS", "STATS_DTYPES", "to_datatree"]

_log = logging.getLogger("pymc")

#: ``divergence_kind`` by the code a chain records (:data:`~.core.chain.KIND_CODES`); a reversal
#: is a rejection that keeps detailed balance, not a divergence (``sample_stats.reversal``)
RECORDED_KINDS = np.array([kind if kind != "reversal" else "none" for kind in DIVERGENCE_KINDS])

#: ``sample_stats`` of ``pmf.sample``: the step method's, without its per-draw wall time
#: (a compiled chain has no clock) and its warning objects (dropped by default by pm.sample).
STATS_DTYPES: dict[str, Any] = {
    "energy": np.float64,
    "energy_error": np.float64,
    "diverging": bool,
    "divergence_kind": np.dtype("<U6"),
    "step_size": np.float64,
    "step_size_bar": np.float64,
    "n_steps": np.int64,
    "tree_depth": np.int64,
    "reached_max_treedepth": bool,
    "reversal": bool,
    "reached_max_steps": bool,
    "acceptance_rate": np.float64,
    "lp": np.float64,
    "fixed_point_iterations": np.int64,
    "fixed_point_residual": np.float64,
    "gradient_evaluations": np.int64,
    "metric_logdet": np.float64,
    "metric_condition_number": np.float64,
    "path_length": np.float64,
}


def _stats(arrays: ChainArrays, n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {k: arrays.floats[:n, i] for i, k in enumerate(FLOAT_STATS)}
    ints = {k: arrays.ints[:n, i] for i, k in enumerate(INT_STATS)}
    codes = ints.pop("divergence_kind")
    out["divergence_kind"] = RECORDED_KINDS[codes]
    out["diverging"] = out["divergence_kind"] != "none"
    out["reversal"] = codes == KIND_CODES["reversal"]
    out["reached_max_treedepth"] = ints.pop("reached_max_treedepth").astype(bool)
    out["reached_max_steps"] = ints.pop("reached_max_steps").astype(bool)
    out.update(ints)
    return out


def _trace(
    model: pm.Model,
    chain: int,
    arrays: ChainArrays,
    n: int,
    point_map_info: Any,
    trace_vars: Sequence[Any] | None,
    initial_point: dict[str, np.ndarray],
) -> NDArray:
    """One chain's ``NDArray`` trace: every iteration's values through the trace's function."""
    trace = NDArray(model=model, vars=trace_vars, test_point=initial_point)
    trace.setup(n, chain, [STATS_DTYPES])
    names = [v.name for v in model.value_vars]
    fixed = {name: initial_point[name] for name in names}  # variables not sampled, if any
    for i in range(n):
        point = fixed | DictToArrayBijection.rmap(RaveledVars(arrays.theta[i], point_map_info))
        for varname, value in zip(
            trace.varnames, trace.fn(*(point[k] for k in names)), strict=True
        ):
            trace.samples[varname][i] = value
    for key, values in _stats(arrays, n).items():
        trace._stats[0][key][:] = values
    trace.draw_idx = n
    return trace


def to_datatree(
    model: pm.Model,
    arrays: Sequence[ChainArrays],
    done: int,
    tune: int,
    point_map_info: Any,
    initial_point: dict[str, np.ndarray],
    *,
    var_names: Sequence[str] | None,
    discard_tuned_samples: bool,
    compute_convergence_checks: bool,
    idata_kwargs: dict | None,
    sampling_time: float,
    quiet: bool,
    chain_ids: Sequence[int] | None = None,
) -> Any:
    """The chains' first ``done`` iterations (``tune`` of them tuning) as ``pm.sample``'s result.

    Parameters
    ----------
    model
        The model.
    arrays
        Each chain's records.
    done
        Iterations kept from every chain (fewer than were asked after an interrupt).
    tune
        Tuning iterations among them (at most ``done``).
    point_map_info
        How θ ravels the value variables (``RaveledVars.point_map_info``).
    initial_point
        A point with every value variable (its shapes; the values of those not sampled).
    var_names, discard_tuned_samples, compute_convergence_checks, idata_kwargs
        As for ``pm.sample``.
    sampling_time
        Wall time of the sampling, recorded in the result's attributes.
    quiet
        No log messages.
    chain_ids
        The chains' numbers (the ``chain`` coordinate; default ``0, 1, ...``): a chain left out
        does not renumber the others.
    """
    trace_vars = None
    if var_names is not None:
        trace_vars = model.replace_rvs_by_values(
            [v for v in model.unobserved_RVs if v.name in var_names]
        )
    traces = [
        _trace(model, c, a, done, point_map_info, trace_vars, initial_point)
        for c, a in enumerate(arrays)
    ]
    mtrace = MultiTrace(traces)
    n_tune = min(tune, done)
    if discard_tuned_samples:
        mtrace = mtrace[n_tune:]
    mtrace.report._n_tune = n_tune
    mtrace.report._n_draws = done - n_tune
    mtrace.report._t_sampling = sampling_time
    if not quiet:
        _log.info(
            f"Sampling {len(arrays)} chains for {n_tune:_d} tune and {done - n_tune:_d} draw "
            f"iterations took {sampling_time:.0f} seconds."
        )
    kwargs: dict[str, Any] = {"model": model, "save_warmup": not discard_tuned_samples}
    kwargs.update(idata_kwargs or {})
    idata = pm.to_inference_data(mtrace, **kwargs)
    idata.attrs["sampling_time"] = sampling_time
    idata.attrs["tuning_steps"] = n_tune
    if chain_ids is not None:
        idata = _renumber(idata, list(chain_ids))
    if compute_convergence_checks:
        warns = run_convergence_checks(idata, model)
        if not quiet:
            log_warnings(warns)
    return drop_warning_stat(idata)


def _renumber(idata: Any, chain_ids: list[int]) -> Any:
    """The ``chain`` coordinate of every group set to ``chain_ids``."""
    for node in idata.subtree:
        if "chain" in node.dataset.dims:
            node.dataset = node.dataset.assign_coords(chain=chain_ids)
    return idata

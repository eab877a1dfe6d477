"""Optimal experimental design through the Fisher information graph.

1. A straight line on [-1, 1]: the D-optimal design puts half the points at each end.
2. Exponential decay exp(-theta t) measured at one time: t* = 1/theta, and averaged over a
   posterior for theta (Bayesian design), t* = 1/E[theta].

Run from the repository root::

    .venv/bin/python examples/geometry_design.py

(PYMC_FISHER_EXAMPLE_SMALL=1 is honoured: the example is small already.)
"""

from __future__ import annotations

import os

import numpy as np
import pymc as pm
import xarray as xr

from pymc_fisher.geometry import design_criteria, optimize_design

SMALL = os.environ.get("PYMC_FISHER_EXAMPLE_SMALL") == "1"


def main() -> None:
    n = 6 if SMALL else 10
    with pm.Model() as line:
        x = pm.Data("x", np.linspace(-0.3, 0.5, n))
        a = pm.Normal("a")
        b = pm.Normal("b")
        pm.Normal("y", a + b * x, 1.0, observed=np.zeros(n))
    for criterion in ("D", "A", "E"):
        result = optimize_design(line, "x", criterion=criterion, bounds=(-1.0, 1.0))
        print(f"line, {criterion}-optimal x: {np.round(np.sort(result.value), 4)}")

    # the criteria of the information, labelled
    information = xr.DataArray(
        np.array([[n, 0.0], [0.0, n]]),
        dims=("rows", "columns"),
        coords={"rows": ["a", "b"], "columns": ["a", "b"]},
    )
    print(design_criteria(information).to_pandas())

    with pm.Model() as decay:
        t = pm.Data("t", np.array([0.1]))
        theta = pm.HalfNormal("theta", 2.0)
        pm.Normal("y", pm.math.exp(-theta * t), 0.05, observed=np.zeros(1))
    local = optimize_design(decay, "t", point={"theta": 2.0}, bounds=(1e-3, 10.0))
    print(f"decay at theta = 2: t* = {local.value[0]:.5f} (1/theta = 0.5)")
    rng = np.random.default_rng(0)
    draws = rng.gamma(8.0, 0.25, size=(2, 50))
    posterior = xr.Dataset({"theta": (("chain", "draw"), draws)})
    bayes = optimize_design(
        decay, "t", point=xr.DataTree.from_dict({"posterior": posterior}), bounds=(1e-3, 10.0)
    )
    print(f"Bayesian design: t* = {bayes.value[0]:.5f} (1/E[theta] = {1 / draws.mean():.5f})")


if __name__ == "__main__":
    main()

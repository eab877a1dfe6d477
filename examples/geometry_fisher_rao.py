"""Fisher–Rao distance and geodesics of the normal family (the hyperbolic half-plane).

Run from the repository root::

    .venv/bin/python examples/geometry_fisher_rao.py

(PYMC_FISHER_EXAMPLE_SMALL=1 is honoured: the example is small already.)
"""

from __future__ import annotations

import os

import numpy as np
import pymc as pm

from pymc_fisher.geometry import fisher_rao_distance, geodesic

SMALL = os.environ.get("PYMC_FISHER_EXAMPLE_SMALL") == "1"


def exact(a: dict, b: dict, n: int) -> float:
    num = (a["mu"] - b["mu"]) ** 2 / 2 + (a["sigma"] - b["sigma"]) ** 2
    return float(np.sqrt(2 * n) * np.arccosh(1 + num / (2 * a["sigma"] * b["sigma"])))


def main() -> None:
    n = 1
    with pm.Model() as model:
        mu = pm.Normal("mu")
        sigma = pm.HalfNormal("sigma")
        pm.Normal("y", mu, sigma, observed=np.zeros(n))
    pairs = [({"mu": 0.0, "sigma": 1.0}, {"mu": 2.0, "sigma": 1.0})]
    if not SMALL:
        pairs.append(({"mu": -3.0, "sigma": 0.5}, {"mu": 4.0, "sigma": 3.0}))
    for a, b in pairs:
        d = fisher_rao_distance(model, a, b)
        print(f"{a} -> {b}: Fisher-Rao {d:.8f}, closed form {exact(a, b, n):.8f}")
    g = geodesic(model, *pairs[0], space="constrained")
    # between equal sigmas the geodesic bulges towards larger sigma (a half-circle)
    mid = g.path.sel(t=0.5, method="nearest")
    print(
        f"midpoint of the geodesic: mu {float(mid.sel(parameters='mu')):.4f}, "
        f"sigma {float(mid.sel(parameters='sigma')):.4f} (converged {g.converged}, "
        f"speed spread {g.speed_spread:.1e})"
    )


if __name__ == "__main__":
    main()

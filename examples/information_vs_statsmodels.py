"""Fisher information and standard errors of a GLM, from the PyMC graph and from statsmodels.

    python examples/information_vs_statsmodels.py

A Poisson regression with a log link. pymc_fisher computes the expected and observed information
from the model graph; statsmodels from its GLM formulas. They agree to rounding, and with a
canonical link observed equals expected. PYMC_FISHER_EXAMPLE_SMALL=1 is honoured (the example is
small already).
"""

import numpy as np
import pymc as pm
import statsmodels.api as sm
from scipy.linalg import cho_factor, cho_solve

import pymc_fisher as pmf


def main() -> None:
    rng = np.random.default_rng(0)
    n = 200
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    y = rng.poisson(np.exp(X @ [0.5, 0.3, -0.2]))

    glm = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    beta = glm.params
    with pm.Model(coords={"coef": ["Intercept", "x1", "x2"]}) as model:
        b = pm.Flat("b", dims="coef")
        pm.Poisson("y", mu=pm.math.exp(X @ b), observed=y)

    expected = pmf.fisher_information(model, {"b": beta}, kind="expected")
    observed = pmf.fisher_information(model, {"b": beta}, kind="observed")
    theirs = -glm.model.hessian(beta, observed=False)
    print("expected information (pymc_fisher):")
    print(expected.to_pandas().round(3))
    print(f"\nmax relative difference to statsmodels: {np.max(np.abs(expected / theirs - 1)):.1e}")
    print(f"observed vs expected (canonical link): {np.max(np.abs(observed - expected)):.1e}")

    # standard errors from the Cholesky factor of the information, never an explicit inverse
    factor = cho_factor(expected.values)
    se = np.sqrt(np.diag(cho_solve(factor, np.eye(len(se_labels := expected.rows.values)))))
    print("\nstandard errors:   pymc_fisher      statsmodels")
    for label, ours, theirs_se in zip(se_labels, se, glm.bse, strict=True):
        print(f"  {label:<16} {ours:12.6f} {theirs_se:14.6f}")


if __name__ == "__main__":
    main()

"""Observed information: −∇²θ of the log-likelihood (or log-posterior) as a graph of θ."""

from __future__ import annotations

import pytensor.tensor as pt
from pytensor.gradient import jacobian
from pytensor.tensor.variable import TensorVariable

from pymc_fisher.fisher.model_graph import ModelGraph

__all__ = ["negative_hessian", "observed_information_graph"]


def negative_hessian(target: TensorVariable, theta: TensorVariable) -> TensorVariable:
    """−∇² of a scalar graph with respect to θ.

    Forward-over-reverse would do as well; the Jacobian of the gradient, vectorized over the
    rows of the identity, is what measures fastest here (``pytensor.gradient.hessian`` loops
    in a Scan, several times slower).
    """
    gradient = pt.grad(target, theta)
    return -jacobian(gradient, theta, vectorize=True)


def observed_information_graph(mg: ModelGraph, *, include_prior: bool = False) -> TensorVariable:
    """−∇²θ log p(y | θ), or of log p(y, θ) with ``include_prior=True``.

    In the unconstrained space the log-prior includes the transforms' log-Jacobian.
    """
    target = mg.logp() if include_prior else mg.loglik()
    return negative_hessian(target, mg.theta)

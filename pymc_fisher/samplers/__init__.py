"""Riemannian-manifold HMC: metrics, generalized leapfrog, trajectories, adaptation, step method.

The numeric core (``solvers``, ``metrics``, ``integrator``, ``trajectory``, ``adaptation``) is pure
NumPy; ``compiled`` turns a PyMC model into the compiled functions it needs and ``step`` is the
``pm.sample`` step method.
"""

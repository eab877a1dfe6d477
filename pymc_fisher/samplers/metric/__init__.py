"""The metric as operations.

Factor ``A(θ)``, solve, draw momenta, kinetic energy and its gradient (NumPy and Numba twins).
"""

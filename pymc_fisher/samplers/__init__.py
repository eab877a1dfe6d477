"""Riemannian-manifold HMC, in role folders whose imports go one way.

``core`` (shared types, options, the ``Kernel`` bundle) ← ``adaptation`` and ``metric`` ←
``transitions`` (kernel-agnostic: fixed length, No-U-Turn, one chain iteration) ← the two
kernels, ``reference`` (NumPy) and ``compiled`` (Numba) ← ``drivers`` (the model's functions,
the kernel choice, the ``pm.sample`` step method, ``pmf.sample``'s chains). ``adaptation`` sits
below ``core``: the chain state holds its states. A test checks the direction.
"""

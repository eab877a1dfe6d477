"""The NumPy reference kernel.

Implicit solves, generalized leapfrog, fixed trajectory, and its ``Kernel``.
"""

"""The Numba kernel.

The same algorithm compiled, bound to a model's functions by address, and its disk cache.
"""

"""Test-session settings: what the tests compile themselves runs in the one-shot mode.

The package picks a mode for each function it compiles (:data:`pymc_fisher.compile_mode.
ONE_SHOT_MODE` for a function called a few times, Numba for the sampler's), and those are what
the tests exercise. What a test compiles itself — a reference log density, a Monte Carlo check,
PyMC's own NUTS in a comparison — would run in PyTensor's default mode, Numba, whose compile on a
machine with empty caches costs seconds per function and dominated a cold run of the default
tier. Here it runs in the one-shot mode: the same stabilising rewrites, so the same numbers to
rounding, and no code generation. The docs tier runs examples and notebooks in fresh processes,
in PyTensor's default mode, as a user would.
"""

from __future__ import annotations

import pytensor

from pymc_fisher.compile_mode import ONE_SHOT_MODE

pytensor.config.mode = ONE_SHOT_MODE

"""The sampler's two groups of options: the implicit solves, and the warm-up adaptation.

Both are plain named tuples, so the Numba kernel takes them as they are.

Numeric core: no imports beyond the standard library.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = [
    "LANDING_TOLERANCE",
    "MAX_ENERGY_ERROR",
    "MAX_HALVINGS",
    "AdaptationOptions",
    "SolverOptions",
]

#: Energy error beyond which a trajectory diverges (PyMC's ``Emax``).
MAX_ENERGY_ERROR = 1000.0

#: A leapfrog step whose implicit solve fails is retried as 2, 4, ..., 2^MAX_HALVINGS substeps.
MAX_HALVINGS = 3

#: How far the reverse of a step may land from its start (``reverse_check``), in units of the
#: solves' tolerance: an inexact solve misses its root by about ``tol`` relative, while a
#: spurious root lies O(1) away.
LANDING_TOLERANCE = 100.0


class SolverOptions(NamedTuple):
    """Options of the generalized leapfrog's implicit solves.

    Attributes
    ----------
    tol
        Absolute and relative tolerance: a solve has converged when
        ``max|F(x) - x| <= tol (1 + max|x|)``. What an inexact solve changes is the step's
        reversibility and volume, by the order of ``tol``: far below the Monte Carlo error (the
        exactness tests of ``test_rmhmc_statistical`` run at the default), while a tighter one
        costs iterations where the metric varies (German credit: 6.3 evaluations per solve at
        1e-9, 4.1 at 1e-6, 2.9 at 1e-4, the same ESS; ``benchmarks/bench_divergences.py``).
    max_iterations
        A solve not converged after this many evaluations has failed: the step is retried as
        substeps (:func:`~.reference.trajectory.subdivided_leapfrog`), and if those fail too the
        transition diverges (kind ``"solver"``).
    anderson_memory
        Anderson-acceleration memory (0 = plain fixed-point iteration).
    newton_iterations
        Newton steps for the implicit momentum equation when the fixed-point iteration has not
        converged (each costs ``d + 1`` reverse passes); 0 disables this fallback.
    max_energy_error
        Energy error beyond which a trajectory diverges (kind ``"energy"``), as PyMC's ``Emax``.
    reverse_check
        Verify every step by its reverse (:func:`~.reference.trajectory.subdivided_leapfrog`): the
        step back from the end point must succeed with the same number of substeps, else the
        transition is rejected. A solve capped at ``max_iterations`` may converge one way and fail
        the other; without the check such a step is not reversible, and the chain is exact only
        where that is rare (it is with the defaults: see ``test_rmhmc_statistical``). With it the
        chain is exact under any solver failure, at about twice the gradients; the momentum solve
        then starts from ``p + ε/2 ∇log p(θ)``, a function of the state alone, instead of the
        previous half step's ``∇_θH``.

    Examples
    --------
    >>> SolverOptions(tol=1e-9).max_iterations
    15
    """

    tol: float = 1e-4
    max_iterations: int = 15
    anderson_memory: int = 3
    newton_iterations: int = 5
    max_energy_error: float = MAX_ENERGY_ERROR
    reverse_check: bool = False


class AdaptationOptions(NamedTuple):
    """Options of the warm-up: step size by dual averaging, integration time in windows.

    Attributes
    ----------
    adapt_step_size
        Tune the step size by dual averaging (Hoffman & Gelman 2014) towards ``target_accept``.
    step_size_jitter
        Relative jitter of the step size, ``ε · U(1 - j, 1 + j)``, each transition (tuning and
        sampling), so that no chain locks onto a periodic orbit.
    init_buffer, term_buffer, base_window
        Stan's warm-up windows: the integration time (``path_length="auto"``) is re-estimated at
        the end of each doubling window of ``base_window, 2·base_window, ...`` draws between an
        initial and a terminal buffer (:func:`~.adaptation.integration_time.warmup_schedule`).
    integration_time_factor
        ``c`` of the automatic integration time ``T = c √max_k r_k`` (π/2: the slowest coordinate's
        quarter period; see :data:`~.adaptation.integration_time.INTEGRATION_TIME_FACTOR`).
    integration_time_jitter
        Relative jitter of the integration time, ``T · U(1 - j, 1 + j)``, each transition
        (:func:`~.adaptation.step_size.jittered_steps`).

    Examples
    --------
    >>> AdaptationOptions().base_window
    25
    """

    adapt_step_size: bool = True
    step_size_jitter: float = 0.2
    init_buffer: int = 75
    term_buffer: int = 50
    base_window: int = 25
    integration_time_factor: float = 0.5 * math.pi
    integration_time_jitter: float = 0.5

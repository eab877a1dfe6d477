"""``RMHMC``: the Riemannian-manifold HMC step method for ``pm.sample``.

A thin shell over the numeric core: it compiles the model once, keeps the per-chain adaptation
state, and turns a :class:`~pymc_fisher.samplers.trajectory.TransitionInfo` into PyMC/ArviZ
sampler statistics.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Any, ClassVar, Literal

import numpy as np
import pymc as pm
from pymc.blocking import RaveledVars, StatsType
from pymc.model import modelcontext
from pymc.pytensorf import floatX
from pymc.stats.convergence import SamplerWarning, WarningType
from pymc.step_methods.arraystep import ArrayStepShared
from pymc.step_methods.compound import Competence, StepMethodState
from pymc.step_methods.state import dataclass_state
from pymc.util import get_value_vars_from_user_vars
from pytensor.tensor.variable import TensorVariable
from threadpoolctl import threadpool_limits

from pymc_fisher.errors import (
    DiscreteVariableError,
    NonFiniteLogDensityError,
    NotPositiveDefiniteError,
)
from pymc_fisher.samplers.adaptation import (
    DualAveragingState,
    dual_averaging_init,
    dual_averaging_update,
    jittered_steps,
)
from pymc_fisher.samplers.compiled import compile_model, riemannian_system
from pymc_fisher.samplers.integration_time import (
    INITIAL_INTEGRATION_TIME,
    IntegrationTimeState,
    integration_time,
    integration_time_init,
    integration_time_update,
    warmup_schedule,
)
from pymc_fisher.samplers.integrator import PositionPoint, SolverOptions
from pymc_fisher.samplers.metrics import condition_number, direct_metric, softabs_metric
from pymc_fisher.samplers.nuts import NutsInfo, nuts_transition
from pymc_fisher.samplers.trajectory import MAX_ENERGY_ERROR, TransitionInfo, fixed_transition

__all__ = ["RMHMC"]

continuous_types = {"float16", "float32", "float64"}


_BLAS_LIMITED = False


def _single_threaded_blas_in_worker() -> None:
    """In a ``pm.sample`` worker process, let BLAS use one thread (once per process).

    The kernel makes many tiny BLAS calls. PyMC limits BLAS threads per worker only for the
    spawn/forkserver start methods (pymc#7354); with fork (Linux's default) every worker keeps
    a full thread pool and, measured on German credit with ``cores=2``, the pools' spinning made
    a transition 47x slower (255 ms against 5.5 ms). The main process is left alone.
    """
    global _BLAS_LIMITED
    if _BLAS_LIMITED or multiprocessing.parent_process() is None:
        return
    threadpool_limits(limits=1, user_api="blas")
    _BLAS_LIMITED = True


# Logged once per chain and kind, at the first divergence after tuning: PyMC's own summary
# ("Increase `target_accept` or reparameterize") fits geometric divergences, not a solver's.
_DIVERGENCE_ADVICE = {
    "solver": (
        "RMHMC: an implicit solve of the generalized leapfrog did not converge (divergence kind "
        "'solver', see sample_stats.divergence_kind). This is a limit of the integrator at this "
        "step size, not a sign that the model is misspecified: raise target_accept (a smaller "
        "step size) or max_fixed_point_iterations."
    ),
    "energy": (
        "RMHMC: the energy error of a trajectory exceeded max_energy_error or log p was not "
        "finite (divergence kind 'energy'): the posterior's geometry is too hard for this step "
        "size. Raise target_accept, or reparameterize the model (e.g. non-centered)."
    ),
    "metric": (
        "RMHMC: the metric was not positive definite at a trajectory's point (divergence kind "
        "'metric'). Use metric='fisher' or 'softabs', which are positive definite by "
        "construction, or raise target_accept."
    ),
}


@dataclass_state
class RMHMCState(StepMethodState):
    """What ``pm.sample`` saves and restores between chains."""

    tune: bool
    iter_count: int
    divergences: int
    adaptation: tuple = field(default=())


class RMHMC(ArrayStepShared):
    """Riemannian-manifold Hamiltonian Monte Carlo (Girolami & Calderhead 2011).

    Parameters
    ----------
    vars
        Variables to sample (default: all continuous free variables of the model).
    metric
        ``"fisher"``: expected information of the whole model graph (priors included);
        ``"softabs"``: Betancourt's SoftAbs of the Hessian of ``-log p``; ``"hessian"``: the
        Hessian of ``-log p`` itself (must stay positive definite); or a callable taking the
        raveled θ (a PyTensor vector, the step's variables in order) and returning ``G(θ)``.
    trajectory
        ``"fixed"``: integration time ``path_length`` per transition; ``"nuts"``: the
        Riemannian No-U-Turn trajectory (multinomial, generalized criterion of Betancourt 2013;
        no step-size jitter, ``path_length`` and ``max_steps`` unused).
    target_accept
        Acceptance rate the step size is tuned to. 0.9 (PyMC's NUTS uses 0.8): measured over
        the benchmark targets with the automatic integration time, 0.9 gave a higher
        min(bulk, tail) ESS per gradient on every target but the funnel (equal there), and far
        fewer divergences (centered eight schools 32 -> 0 per 4000 draws).
    step_size
        Initial step size (default ``0.5 / d^¼``).
    path_length
        Integration time; the number of steps is ``ceil(path_length / ε)``. ``"auto"``
        (default) learns it in warm-up from the slowness ratio of the metric (see
        :mod:`.integration_time`): ``T = (π/2) √max_k r_k`` with
        ``r_k = Var(θ_k) / E[(G⁻¹)_kk]``, estimated in Stan's doubling windows; a number fixes
        it.
    step_size_jitter
        Relative jitter of the step size, ``ε · U(1 - j, 1 + j)``, each transition.
    max_steps
        Upper bound on the number of leapfrog steps per transition.
    max_treedepth
        ``"nuts"`` only: at most this many doublings of the trajectory.
    softabs_alpha
        SoftAbs sharpness α.
    fixed_point_tol
        Absolute and relative tolerance of the implicit solves. The energy error a solve this
        accurate leaves is of its order, far below the Monte Carlo error; a tighter one costs
        iterations where the metric varies (German credit: 6.3 evaluations per solve at 1e-9,
        4.5 at 1e-6, and 31 instead of 42 per draw).
    max_fixed_point_iterations
        A solve not converged after this many evaluations is a divergence (kind ``"solver"``).
    anderson_memory
        Anderson-acceleration memory of the implicit solves (0 = plain fixed-point iteration).
    newton_iterations
        Newton steps for the implicit momentum equation when the fixed-point iteration has not
        converged (each costs d + 1 reverse passes); 0 disables this fallback.
    max_energy_error
        Energy error beyond which a trajectory diverges (kind ``"energy"``), as PyMC's ``Emax``.
    adapt_step_size
        Whether to tune the step size by dual averaging during tuning.
    model, rng, initial_point, blocked
        As for PyMC's step methods.

    Raises
    ------
    DiscreteVariableError
        If a variable to sample is discrete (combine RMHMC with a PyMC step for it).
    NonFiniteLogDensityError
        If the log density or its gradient is not finite at the initial point.
    NotPositiveDefiniteError
        If the metric is not positive definite at the initial point.

    Notes
    -----
    ``sample_stats`` hold PyMC/ArviZ's ``energy``, ``energy_error``, ``diverging``,
    ``step_size``, ``step_size_bar``, ``n_steps``, ``acceptance_rate``, ``lp``, ``tree_depth`` and
    ``reached_max_treedepth`` (0 and ``False`` for the fixed trajectory), and the
    Riemannian ``divergence_kind`` (``"none"``, ``"energy"``, ``"solver"``, ``"metric"``),
    ``fixed_point_iterations`` (evaluations of both implicit solves in the transition),
    ``fixed_point_residual``, ``gradient_evaluations``, ``metric_logdet`` and
    ``metric_condition_number`` (at the returned draw).

    Examples
    --------
    >>> import pymc as pm
    >>> import pymc_fisher.samplers.step as s
    >>> with pm.Model():
    ...     x = pm.Normal("x", 0, 1, shape=2)
    ...     step = s.RMHMC(metric="softabs")
    >>> step.metric_name
    'softabs'
    """

    name = "rmhmc"
    default_blocked = True
    _state_class = RMHMCState

    stats_dtypes_shapes: ClassVar[dict[str, tuple[Any, Any]]] = {
        "energy": (np.float64, []),
        "energy_error": (np.float64, []),
        "diverging": (bool, []),
        "divergence_kind": (np.dtype("<U6"), []),
        "step_size": (np.float64, []),
        "step_size_bar": (np.float64, []),
        "n_steps": (np.int64, []),
        "tree_depth": (np.int64, []),
        "reached_max_treedepth": (bool, []),
        "acceptance_rate": (np.float64, []),
        "lp": (np.float64, []),
        "fixed_point_iterations": (np.int64, []),
        "fixed_point_residual": (np.float64, []),
        "gradient_evaluations": (np.int64, []),
        "metric_logdet": (np.float64, []),
        "metric_condition_number": (np.float64, []),
        "path_length": (np.float64, []),
        "perf_counter_diff": (np.float64, []),
        "warning": (SamplerWarning, None),
    }

    def __init__(
        self,
        vars: Sequence[TensorVariable] | None = None,
        *,
        metric: Literal["fisher", "softabs", "hessian"] | Callable = "fisher",
        trajectory: Literal["fixed", "nuts"] = "fixed",
        target_accept: float = 0.9,
        step_size: float | None = None,
        path_length: float | Literal["auto"] = "auto",
        step_size_jitter: float = 0.2,
        max_steps: int = 100,
        max_treedepth: int = 10,
        softabs_alpha: float = 1e3,
        fixed_point_tol: float = 1e-6,
        max_fixed_point_iterations: int = 15,
        anderson_memory: int = 3,
        newton_iterations: int = 5,
        max_energy_error: float = MAX_ENERGY_ERROR,
        adapt_step_size: bool = True,
        model: pm.Model | None = None,
        rng: Any = None,
        initial_point: dict[str, np.ndarray] | None = None,
        blocked: bool = True,
    ) -> None:
        model = modelcontext(model)
        if trajectory not in ("fixed", "nuts"):
            raise ValueError(f"trajectory={trajectory!r}: use 'fixed' or 'nuts'.")
        if vars is None:
            vars = model.continuous_value_vars
            discrete = [v.name for v in model.value_vars if v not in vars]
            if not vars:
                raise DiscreteVariableError(
                    f"RMHMC needs continuous variables; {discrete} are discrete. Sample them "
                    f"with a PyMC step (pm.Metropolis, pm.CategoricalGibbsMetropolis)."
                )
        else:
            vars = get_value_vars_from_user_vars(vars, model)
        for v in vars:
            if v.dtype not in continuous_types:
                raise DiscreteVariableError(
                    f"RMHMC cannot sample the discrete variable {v.name!r}: the log density has "
                    f"no gradient in it. Combine steps, e.g. step=[pmf.RMHMC(vars=[...continuous"
                    f"...]), pm.Metropolis([{v.name}])], or marginalize it out."
                )
        if initial_point is None:
            initial_point = model.initial_point()
        self._model = model
        self.metric_name = metric if isinstance(metric, str) else "callable"
        compiled = compile_model(model, vars, initial_point, metric)
        self._compiled = compiled
        self._metric = softabs_metric(softabs_alpha) if metric == "softabs" else direct_metric()
        self._solver = SolverOptions(
            fixed_point_tol,
            fixed_point_tol,
            max_fixed_point_iterations,
            anderson_memory,
            newton_iterations,
        )
        d = compiled.size
        self.initial_step_size = float(step_size if step_size is not None else 0.5 / d**0.25)
        self.target_accept = float(target_accept)
        if path_length == "auto":
            self.auto_path_length = True
            self.path_length = INITIAL_INTEGRATION_TIME
        elif isinstance(path_length, str):
            raise ValueError(f"path_length={path_length!r}: use 'auto' or a positive number.")
        else:
            self.auto_path_length = False
            self.path_length = float(path_length)
        self._tune_draws = 0
        self._time_state: IntegrationTimeState = integration_time_init(compiled.size)
        self.step_size_jitter = float(step_size_jitter)
        self.max_steps = int(max_steps)
        self.trajectory = trajectory
        self.max_treedepth = int(max_treedepth)
        self.max_energy_error = float(max_energy_error)
        self.adapt_step_size = bool(adapt_step_size)
        self.tune = True
        self.iter_count = 0
        self.divergences = 0
        self._kinds_warned: set[str] = set()
        self.adaptation = tuple(dual_averaging_init(self.initial_step_size))
        self._cache: PositionPoint | None = None
        super().__init__(vars, compiled.shared, blocked=blocked, rng=rng)
        self._check_start(initial_point)

    # -- set-up ----------------------------------------------------------------------------

    def _check_start(self, point: dict[str, np.ndarray]) -> None:
        for value, sv in self._compiled.shared.items():
            sv.set_value(np.asarray(point[value.name]))
        theta = np.concatenate([np.ravel(point[name]) for name in self.var_names]).astype(float)
        self._evaluate_start(theta, "the initial point")

    def _evaluate_start(self, theta: np.ndarray, where: str) -> PositionPoint:
        system = riemannian_system(self._compiled, self._metric)
        point = system.evaluate(theta)
        if isinstance(point, str) and point == "energy":
            raise NonFiniteLogDensityError(
                f"The log density or its gradient is not finite at {where} "
                f"(variables {list(self.var_names)}). Check model.point_logps() and pass a "
                f"finite initvals=... to pm.sample."
            )
        if isinstance(point, str):
            raise NotPositiveDefiniteError(
                f"The {self.metric_name!r} metric is not positive definite at {where} "
                f"(variables {list(self.var_names)}). Use metric='softabs' (always positive "
                f"definite) or 'fisher', or start elsewhere with initvals=..."
            )
        assert isinstance(point, PositionPoint)
        return point

    @staticmethod
    def competence(var: TensorVariable, has_grad: bool) -> Competence:
        """Compatible with continuous variables that have a gradient (never auto-assigned)."""
        if var.dtype in continuous_types and has_grad:
            return Competence.COMPATIBLE
        return Competence.INCOMPATIBLE

    def reset_tuning(self, start: Any = None) -> None:
        """Fresh adaptation state for a new chain."""
        self.adaptation = tuple(dual_averaging_init(self.initial_step_size))
        self.iter_count = 0
        self.divergences = 0
        self._kinds_warned = set()
        self._cache = None
        if self.auto_path_length:
            self._time_state = integration_time_init(self._compiled.size)
            self.path_length = self._time_state.path_length

    def setup_chain(self, rng: Any, tune: int, draws: int) -> None:
        """Prepare one chain: its own random generator and a fresh adaptation state."""
        super().setup_chain(rng, tune, draws)
        self.reset_tuning()
        self._tune_draws = int(tune)
        _single_threaded_blas_in_worker()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = None
        return state

    # -- one transition --------------------------------------------------------------------

    def _current_step_size(self) -> tuple[float, float]:
        da = DualAveragingState._make(self.adaptation)
        bar = float(np.exp(da.log_step_bar))
        if self.tune and self.adapt_step_size:
            return float(np.exp(da.log_step)), bar
        return bar, bar

    def _adapt_integration_time(self, point: PositionPoint) -> None:
        """Feed the draw to the current warm-up window; at a window's end, update ``T``."""
        schedule = warmup_schedule(self._tune_draws)
        i = self.iter_count
        for start, end in zip(schedule.window_starts, schedule.window_ends, strict=True):
            if start <= i < end:
                self._time_state = integration_time_update(
                    self._time_state, point.theta, point.metric.inverse.diagonal()
                )
                if i + 1 == end:
                    self._time_state = integration_time(self._time_state)
                    self.path_length = self._time_state.path_length
                break

    def astep(self, q0: RaveledVars) -> tuple[RaveledVars, StatsType]:
        """One RMHMC transition from the raveled point ``q0``."""
        # No time.process_time(): it costs ~10 ms per call here (measured with cProfile; it
        # sums CPU time over the process's many BLAS/numba threads), more than a transition.
        perf_start = time.perf_counter()
        system = riemannian_system(self._compiled, self._metric)
        theta0 = np.asarray(q0.data, dtype=np.float64)
        cached = self._cache
        if cached is not None and not self.shared and np.array_equal(cached.theta, theta0):
            point = cached
        else:
            point = self._evaluate_start(theta0, f"iteration {self.iter_count}")
        step_size, step_size_bar = self._current_step_size()
        tree_depth, reached_max_treedepth = 0, False
        info: TransitionInfo | NutsInfo
        if self.trajectory == "nuts":
            eps = step_size
            new_point, nuts_info = nuts_transition(
                system,
                point,
                eps,
                self.rng,
                max_treedepth=self.max_treedepth,
                max_energy_error=self.max_energy_error,
                options=self._solver,
            )
            tree_depth = nuts_info.tree_depth
            reached_max_treedepth = nuts_info.reached_max_treedepth
            info = nuts_info
            cond = condition_number(new_point.metric)
        else:
            eps, n_steps = jittered_steps(
                step_size, self.path_length, self.step_size_jitter, self.max_steps, self.rng
            )
            new_point, info = fixed_transition(
                system,
                point,
                eps,
                n_steps,
                self.rng,
                max_energy_error=self.max_energy_error,
                options=self._solver,
            )
            cond = info.condition_number
        self._cache = new_point
        if self.tune and self.adapt_step_size:
            da = dual_averaging_update(
                DualAveragingState._make(self.adaptation),
                info.acceptance_rate,
                self.target_accept,
            )
            self.adaptation = tuple(da)
        if self.tune and self.auto_path_length:
            self._adapt_integration_time(new_point)
        diverging = info.divergence != "none"
        warning = None
        if diverging:
            kind = WarningType.TUNING_DIVERGENCE if self.tune else WarningType.DIVERGENCE
            first = not self.tune and info.divergence not in self._kinds_warned
            if first:
                self._kinds_warned.add(info.divergence)
            warning = SamplerWarning(
                kind,
                _DIVERGENCE_ADVICE[info.divergence] if first else
                f"RMHMC divergence of kind {info.divergence!r}",
                "warning" if first else "debug",
                self.iter_count,
            )  # fmt: skip
            if not self.tune:
                self.divergences += 1
        self.iter_count += 1
        stats = {
            "energy": info.energy,
            "energy_error": info.energy_error,
            "diverging": diverging,
            "divergence_kind": info.divergence,
            "step_size": eps,
            "step_size_bar": step_size_bar,
            "n_steps": info.n_steps,
            "tree_depth": tree_depth,
            "reached_max_treedepth": reached_max_treedepth,
            "acceptance_rate": info.acceptance_rate,
            "lp": new_point.logp,
            "fixed_point_iterations": info.fixed_point_iterations,
            "fixed_point_residual": info.fixed_point_residual,
            "gradient_evaluations": info.gradient_evaluations,
            "metric_logdet": new_point.metric.logdet,
            "metric_condition_number": cond,
            "path_length": self.path_length,
            "perf_counter_diff": time.perf_counter() - perf_start,
            "warning": warning,
        }
        return RaveledVars(floatX(new_point.theta), q0.point_map_info), [stats]

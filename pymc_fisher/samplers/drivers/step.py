"""``RMHMC``: the Riemannian-manifold HMC step method for ``pm.sample``.

A thin shell over the numeric core: it compiles the model once, keeps the per-chain adaptation
state, and turns a :class:`~.trajectory.TransitionInfo` into PyMC/ArviZ
sampler statistics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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

from pymc_fisher.errors import (
    DiscreteVariableError,
    NonFiniteLogDensityError,
    NotPositiveDefiniteError,
    NotSemiSeparableError,
)
from pymc_fisher.samplers.adaptation.integration_time import (
    INITIAL_INTEGRATION_TIME,
    warmup_schedule,
)
from pymc_fisher.samplers.core.chain import ChainSettings, ChainState
from pymc_fisher.samplers.core.kernel import Kernel
from pymc_fisher.samplers.core.options import AdaptationOptions, SolverOptions
from pymc_fisher.samplers.core.types import BlockSplit, NutsInfo, PositionPoint
from pymc_fisher.samplers.drivers.model import compile_model
from pymc_fisher.samplers.drivers.runner import single_threaded_blas_in_worker
from pymc_fisher.samplers.drivers.select import make_kernel
from pymc_fisher.samplers.metric.operations import direct_metric, softabs_metric
from pymc_fisher.samplers.transitions.iteration import chain_init, chain_step
from pymc_fisher.validation import CONTINUOUS_DTYPES, check_continuous, discrete_variables

__all__ = ["RMHMC"]


# Logged once per chain and kind, at the first divergence after tuning: PyMC's own summary
# ("Increase `target_accept` or reparameterize") fits geometric divergences, not a solver's.
_DIVERGENCE_ADVICE = {
    "solver": (
        "RMHMC: an implicit solve of the generalized leapfrog did not converge (divergence kind "
        "'solver', see sample_stats.divergence_kind). This is a limit of the integrator at this "
        "step size, not a sign that the model is misspecified: raise target_accept (a smaller "
        "step size) or solver=pmf.SolverOptions(max_iterations=...)."
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
    integrator
        ``"implicit"`` (default): the generalized leapfrog (Girolami & Calderhead 2011), with
        implicit solves, for any metric. ``"blockwise"``: the explicit alternating blockwise
        leapfrog (Zhang & Sutton 2014; :mod:`~.reference.blockwise`) for a ``"fisher"`` metric
        that is semi-separable on the model's graph (:func:`~pymc_fisher.fisher.structure.\
semi_separable_structure`: the funnel, centred Gaussian hierarchies); no fixed point, exactly
        reversible and volume-preserving; it runs in the NumPy reference (no compiled twin
        yet). ``"auto"``: ``"blockwise"`` where the structure exists, else ``"implicit"``.
        ``structure`` holds the split found (``None`` for the implicit integrator).
    trajectory
        ``"fixed"``: integration time ``path_length`` per transition; ``"nuts"``: the
        Riemannian No-U-Turn trajectory (multinomial, generalized criterion of Betancourt 2013;
        no step-size jitter, ``path_length`` and ``max_steps`` unused).
    path_length
        Integration time; the number of steps is ``ceil(path_length / ε)``. ``"auto"``
        (default) learns it in warm-up from the slowness ratio of the metric (see
        :mod:`.adaptation.integration_time`): ``T = (π/2) √max_k r_k`` with
        ``r_k = Var(θ_k) / E[(G⁻¹)_kk]``, estimated in Stan's doubling windows; a number fixes
        it.
    target_accept
        Acceptance rate the step size is tuned to. 0.9 (PyMC's NUTS uses 0.8): measured over
        the benchmark targets with the automatic integration time, 0.9 gave a higher
        min(bulk, tail) ESS per gradient on every target but the funnel (equal there), and far
        fewer divergences (centered eight schools 32 -> 0 per 4000 draws). 0.85 also leaves no
        divergence on ten targets with 3-12% fewer gradients per draw, but twice the share of
        transitions that subdivide a step and go through the reversibility check (2.2% against
        1.1% on non-centered eight schools), whose measured bias under forced solver failures
        is open (``test_forced_solver_failures_keep_the_chain_exact``).
    step_size
        Initial step size (default ``0.5 / d^¼``).
    max_steps
        Upper bound on the number of leapfrog steps per transition.
    max_treedepth
        ``"nuts"`` only: at most this many doublings of the trajectory.
    softabs_alpha
        SoftAbs sharpness α of ``metric="softabs"``: ``g(λ) = λ coth(αλ)``, so eigenvalues of
        the Hessian below about ``1/α`` in magnitude become ``1/α``. 1e3 (the library's
        :data:`~pymc_fisher.linalg.SOFTABS_ALPHA` is 1e6): measured on the funnel, a sharper map
        lets the metric follow the neck's vanishing curvature into step sizes the implicit
        solves cannot take.
    solver
        The implicit solves (:class:`~.core.options.SolverOptions`: tolerance, iterations, Anderson
        memory, Newton fallback, divergence threshold).
    adaptation
        The warm-up (:class:`~.core.options.AdaptationOptions`: whether to tune the step size, its
        jitter, the windows).
    compiled
        ``True`` (default): run the Numba kernel when the model's functions allow it (else the
        NumPy reference, with a warning that says why); ``False``: the NumPy reference.
    check_start
        Evaluate the log density and the metric at the initial point now, and raise the typed
        error below if they fail there (``pmf.sample`` checks each chain's own start instead).
    model, rng, initial_point, blocked
        As for PyMC's step methods.

    Raises
    ------
    NotSemiSeparableError
        If ``integrator="blockwise"`` and the metric is not ``"fisher"`` or not semi-separable.
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
    ``reached_max_treedepth`` (0 and ``False`` for the fixed trajectory), and the Riemannian
    ``divergence_kind`` (``"none"``, ``"energy"``, ``"solver"``, ``"metric"``), ``reversal`` (a step
    whose reverse failed or landed elsewhere: a rejection that keeps detailed balance, not a
    divergence), ``reached_max_steps`` (``max_steps`` cut the fixed trajectory short of the
    integration time), ``fixed_point_iterations`` (evaluations of both implicit solves in the
    transition), ``fixed_point_residual``, ``gradient_evaluations``, ``metric_logdet``,
    ``metric_condition_number`` (at the returned draw) and ``path_length`` (the integration time in
    force).

    Examples
    --------
    >>> import pymc as pm
    >>> import pymc_fisher.samplers.drivers.step as s
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
        "reversal": (bool, []),
        "reached_max_steps": (bool, []),
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
        integrator: Literal["implicit", "blockwise", "auto"] = "implicit",
        trajectory: Literal["fixed", "nuts"] = "fixed",
        path_length: float | Literal["auto"] = "auto",
        target_accept: float = 0.9,
        step_size: float | None = None,
        max_steps: int = 100,
        max_treedepth: int = 10,
        softabs_alpha: float = 1e3,
        solver: SolverOptions | None = None,
        adaptation: AdaptationOptions | None = None,
        compiled: bool = True,
        check_start: bool = True,
        model: pm.Model | None = None,
        rng: Any = None,
        initial_point: dict[str, np.ndarray] | None = None,
        blocked: bool = True,
    ) -> None:
        model = modelcontext(model)
        if trajectory not in ("fixed", "nuts"):
            raise ValueError(f"trajectory={trajectory!r}: use 'fixed' or 'nuts'.")
        if path_length != "auto" and (isinstance(path_length, str) or not path_length > 0):
            raise ValueError(f"path_length={path_length!r}: use 'auto' or a positive number.")
        if integrator not in ("implicit", "blockwise", "auto"):
            raise ValueError(f"integrator={integrator!r}: use 'implicit', 'blockwise' or 'auto'.")
        vars = self._continuous_vars(model, vars)
        if initial_point is None:
            initial_point = model.initial_point()
        self.structure = self._structure(model, vars, initial_point, metric, integrator)
        self.integrator = "implicit" if self.structure is None else "blockwise"
        self._model = model
        self.metric_name = metric if isinstance(metric, str) else "callable"
        self._compiled = compile_model(model, vars, initial_point, metric)
        self._metric = softabs_metric(softabs_alpha) if metric == "softabs" else direct_metric()
        self.solver = solver if solver is not None else SolverOptions()
        self.adaptation_options = adaptation if adaptation is not None else AdaptationOptions()
        d = self._compiled.size
        self.initial_step_size = float(step_size if step_size is not None else 0.5 / d**0.25)
        self.target_accept = float(target_accept)
        self.auto_path_length = path_length == "auto"
        self.initial_path_length = (
            INITIAL_INTEGRATION_TIME if path_length == "auto" else float(path_length)
        )
        self.max_steps = int(max_steps)
        self.trajectory = trajectory
        self.max_treedepth = int(max_treedepth)
        self._prefer: Literal["compiled", "reference"] = "compiled" if compiled else "reference"
        self._kernel_cache: Kernel | None = None
        self.tune = True
        self.iter_count = 0
        self.divergences = 0
        self._tune_draws = 0
        self._kinds_warned: set[str] = set()
        self._chain: ChainState | None = None
        self._settings = self.chain_settings(0, 0)
        super().__init__(vars, self._compiled.shared, blocked=blocked, rng=rng)
        for value, sv in self._compiled.shared.items():
            sv.set_value(np.asarray(initial_point[value.name]))
        theta = [np.ravel(initial_point[name]) for name in self.var_names]
        self._start_theta = np.concatenate(theta).astype(np.float64)
        if check_start:
            self.evaluate_start(self._start_theta, "the initial point")

    # -- set-up ----------------------------------------------------------------------------

    @staticmethod
    def _structure(
        model: pm.Model,
        vars: Sequence[Any],
        point: dict[str, np.ndarray],
        metric: Any,
        integrator: str,
    ) -> Any:
        """The semi-separable split the blockwise integrator runs on, or ``None``."""
        if integrator == "implicit" or (integrator == "auto" and metric != "fisher"):
            return None
        names = [v.name for v in vars]
        if metric != "fisher":
            raise NotSemiSeparableError(
                f"integrator='blockwise' needs metric='fisher' (the whole-graph information, "
                f"whose structure is read from the model), got metric={metric!r}. Use "
                f"integrator='implicit'."
            )
        from pymc_fisher.fisher.structure import semi_separable_structure

        shapes = {name: np.shape(value) for name, value in point.items()}
        structure = semi_separable_structure(model, names, shapes=shapes)
        if structure is None and integrator == "blockwise":
            raise NotSemiSeparableError(
                f"The Fisher metric of variables {names} is not semi-separable: no split into "
                "blocks A and B has G_AB = 0 with G_AA depending on B only and G_BB on A only "
                "(pymc_fisher.fisher.dependencies.information_dependencies shows which block "
                "depends on what). Use integrator='implicit' (or 'auto')."
            )
        return structure

    @property
    def split(self) -> BlockSplit | None:
        """The blocks the integrator alternates between (``None`` for the implicit one)."""
        s = self.structure
        if s is None:
            return None
        return BlockSplit(s.latent_index, s.hyper_index, bool(s.hyper_depends_on))

    @staticmethod
    def _continuous_vars(model: pm.Model, vars: Sequence[Any] | None) -> list:
        if vars is None:
            vars = model.continuous_value_vars
            if not vars:
                raise DiscreteVariableError(
                    f"RMHMC needs continuous variables; {discrete_variables(model)} are "
                    f"discrete. Sample them with a PyMC step (pm.Metropolis, "
                    f"pm.CategoricalGibbsMetropolis)."
                )
            return list(vars)
        vars = get_value_vars_from_user_vars(vars, model)
        check_continuous(
            model, [v.name for v in vars],
            advice="Combine steps, e.g. step=[pmf.RMHMC(vars=[...continuous...]), "
            "pm.Metropolis([...])], or marginalize it out.",
        )  # fmt: skip
        return list(vars)

    @property
    def kernel(self) -> Kernel:
        """The kernel this step runs (built on first use in each process; not pickled)."""
        if self._kernel_cache is None:
            theta = self._start_theta
            self._kernel_cache = make_kernel(
                self._compiled, self._metric, theta, prefer=self._prefer, split=self.split
            )
        return self._kernel_cache

    def chain_settings(self, tune: int, draws: int) -> ChainSettings:
        """What one chain of ``tune`` then ``draws`` iterations runs with."""
        options = self.adaptation_options
        schedule = warmup_schedule(
            tune, init_buffer=options.init_buffer, term_buffer=options.term_buffer,
            base_window=options.base_window,
        )  # fmt: skip
        return ChainSettings(
            int(tune), int(draws), self.target_accept, bool(options.adapt_step_size),
            self.auto_path_length, float(options.step_size_jitter),
            float(options.integration_time_jitter), self.max_steps,
            np.array(schedule.window_starts, dtype=np.int64),
            np.array(schedule.window_ends, dtype=np.int64),
            float(options.integration_time_factor), self.trajectory == "nuts",
            self.max_treedepth, self.solver,
        )  # fmt: skip

    def chain_start(self, position: PositionPoint) -> ChainState:
        """A chain at ``position`` with fresh adaptation."""
        return chain_init(position, self.initial_step_size, self.initial_path_length)

    def evaluate_start(self, theta: np.ndarray, where: str) -> PositionPoint:
        """The position at ``theta``, or the typed error that says why it cannot start there.

        The kernel first re-reads the model's shared inputs: data set with ``pm.set_data``
        since the last chain (or values another step moved) replace the arrays it points at.
        """
        self.kernel.sync()
        point = self.kernel.evaluate(theta)
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
        return point

    @staticmethod
    def competence(var: TensorVariable, has_grad: bool) -> Competence:
        """Compatible with continuous variables that have a gradient (never auto-assigned)."""
        if var.dtype in CONTINUOUS_DTYPES and has_grad:
            return Competence.COMPATIBLE
        return Competence.INCOMPATIBLE

    def reset_tuning(self, start: Any = None) -> None:
        """Fresh adaptation state for a new chain."""
        self.iter_count = 0
        self.divergences = 0
        self._kinds_warned = set()
        self._chain = None

    def setup_chain(self, rng: Any, tune: int, draws: int) -> None:
        """Prepare one chain: its own random generator and a fresh adaptation state."""
        super().setup_chain(rng, tune, draws)
        self.reset_tuning()
        self._tune_draws = int(tune)
        self._settings = self.chain_settings(tune, draws)
        single_threaded_blas_in_worker()

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"_kernel_cache": None, "_chain": None}

    # -- one transition --------------------------------------------------------------------

    def _chain_state(self, theta0: np.ndarray) -> ChainState:
        """The chain's state at ``theta0`` (re-evaluated where another step moved the rest)."""
        state = self._chain
        if state is None:
            position = self.evaluate_start(theta0, f"iteration {self.iter_count}")
            return self.chain_start(position)._replace(iteration=self.iter_count)
        if self.shared or not np.array_equal(state.position.theta, theta0):
            position = self.evaluate_start(theta0, f"iteration {self.iter_count}")
            state = state._replace(position=position)
        return state._replace(iteration=self.iter_count)

    def astep(self, q0: RaveledVars) -> tuple[RaveledVars, StatsType]:
        """One RMHMC transition from the raveled point ``q0``."""
        # No time.process_time(): it costs ~10 ms per call here (measured with cProfile; it
        # sums CPU time over the process's many BLAS/numba threads), more than a transition.
        perf_start = time.perf_counter()
        state = self._chain_state(np.asarray(q0.data, dtype=np.float64))
        settings = self._settings._replace(tune=self._tune_draws if self.tune else 0)
        self._chain, draw = chain_step(self.kernel, state, settings, self.rng)
        info, position = draw.info, self._chain.position
        warning = self._divergence_warning(info.divergence)
        self.iter_count += 1
        tree_depth, reached = (
            (info.tree_depth, info.reached_max_treedepth) if isinstance(info, NutsInfo)
            else (0, False)
        )  # fmt: skip
        reversal = info.divergence == "reversal"
        stats = {
            "energy": info.energy,
            "energy_error": info.energy_error,
            "diverging": info.divergence != "none" and not reversal,
            "divergence_kind": "none" if reversal else info.divergence,
            "step_size": draw.step_size,
            "step_size_bar": draw.step_size_bar,
            "n_steps": info.n_steps,
            "tree_depth": tree_depth,
            "reached_max_treedepth": reached,
            "reversal": reversal,
            "reached_max_steps": draw.reached_max_steps,
            "acceptance_rate": info.acceptance_rate,
            "lp": position.logp,
            "fixed_point_iterations": info.fixed_point_iterations,
            "fixed_point_residual": info.fixed_point_residual,
            "gradient_evaluations": info.gradient_evaluations,
            "metric_logdet": position.metric.logdet,
            "metric_condition_number": draw.condition_number,
            "path_length": draw.path_length,
            "perf_counter_diff": time.perf_counter() - perf_start,
            "warning": warning,
        }
        return RaveledVars(floatX(position.theta), q0.point_map_info), [stats]

    def _divergence_warning(self, kind: str) -> SamplerWarning | None:
        """PyMC's warning record for a divergence; advice the first time of each kind."""
        if kind in ("none", "reversal"):
            return None
        first = not self.tune and kind not in self._kinds_warned
        if first:
            self._kinds_warned.add(kind)
        if not self.tune:
            self.divergences += 1
        return SamplerWarning(
            WarningType.TUNING_DIVERGENCE if self.tune else WarningType.DIVERGENCE,
            _DIVERGENCE_ADVICE[kind] if first else f"RMHMC divergence of kind {kind!r}",
            "warning" if first else "debug",
            self.iter_count,
        )

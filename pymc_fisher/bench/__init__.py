"""Sampler comparison studies: targets, samplers, a runner over any executor, and a report.

>>> import pymc_fisher.bench as bench
>>> {"funnel", "german_credit"} <= set(bench.available_targets())
True
"""

from pymc_fisher.bench.errors import (
    DataNotFoundError,
    RunFailedError,
    StudyError,
    UnknownSamplerError,
    UnknownTargetError,
)
from pymc_fisher.bench.executors import InlineExecutor, default_executor
from pymc_fisher.bench.metrics import COLUMNS, bias_z, summarize_run
from pymc_fisher.bench.report import format_table, plot_ess_per_second, plot_ranks, write_report
from pymc_fisher.bench.runner import run_one, run_study
from pymc_fisher.bench.samplers import (
    RunSettings,
    SamplerRun,
    available_samplers,
    get_sampler,
    register_sampler,
)
from pymc_fisher.bench.store import load_run, load_study, run_key
from pymc_fisher.bench.targets import (
    Reference,
    Target,
    as_target,
    available_targets,
    get_target,
    register_target,
    with_reference,
)

__all__ = [
    "COLUMNS",
    "DataNotFoundError",
    "InlineExecutor",
    "Reference",
    "RunFailedError",
    "RunSettings",
    "SamplerRun",
    "StudyError",
    "Target",
    "UnknownSamplerError",
    "UnknownTargetError",
    "as_target",
    "available_samplers",
    "available_targets",
    "bias_z",
    "default_executor",
    "format_table",
    "get_sampler",
    "get_target",
    "load_run",
    "load_study",
    "plot_ess_per_second",
    "plot_ranks",
    "register_sampler",
    "register_target",
    "run_key",
    "run_one",
    "run_study",
    "summarize_run",
    "with_reference",
    "write_report",
]

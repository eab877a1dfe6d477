"""A sampler comparison study on Neal's funnel (d = 10): PyMC's NUTS, nutpie and RMHMC.

    python examples/study_funnel.py [OUT]

prints the table (one row per sampler and seed), writes it to OUT/study.csv with figures in
OUT/figures, and keeps every run under OUT/runs so that an interrupted study resumes.
Set PYMC_FISHER_EXAMPLE_SMALL=1 for a quick run with tiny settings (what the tests do).
"""

import os
import sys
import tempfile

from pymc_fisher.bench import InlineExecutor, run_study
from pymc_fisher.bench.report import format_table, write_report

SMALL = os.environ.get("PYMC_FISHER_EXAMPLE_SMALL") == "1"
SETTINGS = (
    {"chains": 2, "draws": 50, "tune": 50, "seeds": [0]}
    if SMALL
    else {"chains": 4, "draws": 1000, "tune": 1000, "seeds": [0, 1, 2]}
)


def main(out: str) -> None:
    # rmhmc: the Fisher metric, diag(1/9 + 9/2, exp(-v) I) on the funnel
    samplers = ["nuts", "nutpie", "rmhmc"]
    if SMALL:  # a smoke test: nutpie's numba compilation would dominate a tiny run
        samplers.remove("nutpie")
    # runs go to one worker process per core; a smoke test runs them in this process instead
    executor = InlineExecutor() if SMALL else None
    table = run_study(["funnel"], samplers, out=out, executor=executor, **SETTINGS)
    print(format_table(table))
    # the funnel's reference is exact (v: mean 0, sd 3), so max_bias_z measures real bias:
    # |z| > 4 means the sampler's mean of v is off by more than its own error bar says
    summary = table.groupby("sampler")[["ess_per_second", "max_bias_z", "divergences"]].median()
    print("\nmedians over seeds:\n" + summary.to_string())
    write_report(table, out, rank_plots=not SMALL)
    print(f"\ntable and figures in {out}")


if __name__ == "__main__":  # the process pool re-imports this file in its workers
    import matplotlib

    matplotlib.use("Agg")
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="study-funnel-"))

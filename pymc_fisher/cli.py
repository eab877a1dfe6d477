r"""Command line: ``pymc-fisher compare``, ``demo``, ``list`` and ``check``.

Examples
--------
Compare PyMC's NUTS with RMHMC on the funnel and eight schools, three seeds::

    pymc-fisher compare funnel eight_schools_centered --samplers nuts,rmhmc \
        --chains 4 --draws 1000 --tune 1000 --seeds 0,1,2 --out study/

The table is printed and written to ``study/study.csv``; figures go to ``study/figures/``.
Run the same command again after an interruption: finished runs are not repeated.

What the package can do with the model defined in a file (a module-level ``model``, or the
file's only ``pm.Model``)::

    pymc-fisher check my_model.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]

DEMO_TARGET = "funnel"
DEMO_SETTINGS: dict[str, Any] = {"chains": 4, "draws": 1000, "tune": 1000, "seeds": [0]}


def _int_list(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        message = f"expected comma-separated integers, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def _name_list(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pymc-fisher",
        description="Sampler comparison studies for PyMC models (pymc_fisher.bench).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    compare = sub.add_parser("compare", help="run every sampler on every target over seeds")
    compare.add_argument("targets", nargs="+", metavar="TARGET", help="registered target names")
    compare.add_argument(
        "--samplers", type=_name_list, default=["nuts", "nutpie"], help="comma-separated names"
    )
    _add_settings(compare, chains=4, draws=1000, tune=1000, seeds=[0])
    compare.add_argument("--out", default="pymc_fisher_study", help="study folder (resumable)")

    demo = sub.add_parser("demo", help="a small study: funnel, nutpie against pmf.sample and RMHMC")
    _add_settings(demo, **DEMO_SETTINGS)
    demo.add_argument("--out", default=None, help="study folder (default: a temporary one)")

    sub.add_parser("list", help="list registered targets and samplers")

    check = sub.add_parser("check", help="what pymc_fisher can do with the model in a file")
    check.add_argument("path", metavar="MODEL.py", help="a Python file that builds a pm.Model")
    return parser


def _load_model(path: str) -> Any:
    """The ``pm.Model`` a file defines: its module-level ``model``, else its only Model."""
    import importlib.util
    from pathlib import Path

    import pymc as pm

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no file {path!r}")
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = vars(module)
    if isinstance(found.get("model"), pm.Model):
        return found["model"]
    models = {id(v): v for v in found.values() if isinstance(v, pm.Model)}
    if len(models) != 1:
        names = sorted(k for k, v in found.items() if isinstance(v, pm.Model))
        raise LookupError(
            f"{path} defines {len(models)} pm.Model objects ({', '.join(names) or 'none'}); "
            "name the one to check `model` at module level."
        )
    return next(iter(models.values()))


def _check(path: str) -> int:
    from pymc_fisher.check import check_model

    try:
        model = _load_model(path)
    except (OSError, ImportError, LookupError) as exc:
        print(f"pymc-fisher: error: {exc}", file=sys.stderr)
        return 2
    print(check_model(model))
    return 0


def _add_settings(
    parser: argparse.ArgumentParser, *, chains: int, draws: int, tune: int, seeds: list[int]
) -> None:
    parser.add_argument("--chains", type=int, default=chains, help=f"chains per run ({chains})")
    parser.add_argument("--draws", type=int, default=draws, help=f"draws per chain ({draws})")
    parser.add_argument("--tune", type=int, default=tune, help=f"tuning steps per chain ({tune})")
    parser.add_argument(
        "--seeds", type=_int_list, default=seeds, help="comma-separated seeds, one run each"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="worker processes (default: one per core); 0 runs everything in this process",
    )
    parser.add_argument("--no-figures", action="store_true", help="write the CSV only")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def _study(args: argparse.Namespace, targets: list[str], samplers: list[str], out: str) -> int:
    import matplotlib

    matplotlib.use("Agg")  # figures go to files; no display needed

    from pymc_fisher.bench import InlineExecutor, run_study
    from pymc_fisher.bench.report import format_table, write_report

    table = run_study(
        targets,
        samplers,
        seeds=args.seeds,
        chains=args.chains,
        draws=args.draws,
        tune=args.tune,
        out=out,
        executor=InlineExecutor() if args.workers == 0 else None,
        max_workers=args.workers or None,
        progress=not args.quiet,
    )
    print(format_table(table))
    written = write_report(table, out, rank_plots=not args.no_figures)
    figures = f" and {len(written) - 1} figure(s) in {out}/figures" if len(written) > 1 else ""
    print(f"\nwrote {written[0]}{figures}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on a usage or study error, or a file without one clear model.
    """
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args.path)
    from pymc_fisher.bench import StudyError, available_samplers, available_targets

    if args.command == "list":
        print("targets: " + ", ".join(available_targets()))
        print("samplers: " + ", ".join(available_samplers()))
        return 0
    try:
        if args.command == "compare":
            return _study(args, args.targets, args.samplers, args.out)
        # nutpie (PyMC's default NUTS), pmf.sample's defaults (the funnel non-centred by its
        # Fisher information, on nutpie), and RMHMC with its defaults
        samplers = ["nutpie", "fisher", "rmhmc"]
        out = args.out or tempfile.mkdtemp(prefix="pymc-fisher-demo-")
        print(
            f"demo: {DEMO_TARGET}, {' vs '.join(samplers)}, {args.chains} chains x "
            f"({args.tune} tune + {args.draws} draws), seeds {args.seeds}, into {out}",
            file=sys.stderr,
        )
        return _study(args, [DEMO_TARGET], samplers, out)
    except StudyError as exc:
        print(f"pymc-fisher: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

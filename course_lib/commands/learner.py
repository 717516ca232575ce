"""``course start`` and ``course check``: the learner's commands (in both editions).

Handlers import JupyterLab and nbgrader only when they run, so ``course --help`` stays
instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _start(args: argparse.Namespace) -> int:
    from course_lib.learner.workspace import start

    return start(Path(args.workspace) if args.workspace else None,
                 open_lab=not args.no_lab, lab_args=args.lab_args)


def _check(args: argparse.Namespace) -> int:
    from course_lib.learner.check import check, table

    report = check(args.notebook, timeout=args.timeout, released_path=args.released)
    print(table(report) if report.results else
          f"{args.notebook}: no graded test cells (is this a course notebook?)")
    return 0 if report.passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``start`` and ``check`` subcommands."""
    from course_lib.learner.check import CELL_TIMEOUT
    from course_lib.learner.workspace import DEFAULT_WORKSPACE

    start = subparsers.add_parser(
        "start", help="copy the notebooks into your own workspace (once) and open JupyterLab there")
    start.add_argument("workspace", nargs="?", metavar="DIR",
                       help=f"your workspace (default: {DEFAULT_WORKSPACE})")
    start.add_argument("--no-lab", action="store_true", help="only copy; do not open JupyterLab")
    start.add_argument("lab_args", nargs="*", metavar="JUPYTER-LAB-OPTION",
                       help="after DIR and --, passed to jupyter lab, e.g. "
                       "`course start ~/work -- --no-browser --port 8890`")
    start.set_defaults(handler=_start)

    check = subparsers.add_parser(
        "check", help="run a notebook as the grader would and score its exercises")
    check.add_argument("notebook", metavar="NOTEBOOK", help="path to the .ipynb file")
    check.add_argument("--timeout", type=int, default=CELL_TIMEOUT, metavar="SECONDS",
                       help=f"per-cell time limit (default: {CELL_TIMEOUT}, as the grader)")
    check.add_argument("--released", metavar="NOTEBOOK", help="the released notebook to take "
                       "the test cells from (default: the course's release of the same name)")
    check.set_defaults(handler=_check)

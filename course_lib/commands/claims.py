"""``course claims [SLUG...] --seeds 0 1 2 [--full]``: do the notebooks' claims hold?

Runs the course's source notebooks once per seed and prints each claim with the number
of seeds it held on and the values measured (see :mod:`course_lib.grading.claims`).
Exit code 1 if a claim failed on any seed.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path


def _claims(args: argparse.Namespace) -> int:
    from course_lib.grading.claims import run_claims, table
    from course_lib.grading.course import course_dir, repository_course, resolve_slugs, source_dir

    root = course_dir(args.course_dir) if args.course_dir else repository_course()
    notebooks = {slug: source_dir(root) / slug / f"{slug}.ipynb"
                 for slug in resolve_slugs(root, args.slugs)}
    rows = run_claims(notebooks, args.seeds, full=args.full, progress=not args.no_progress)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(row) for row in rows], indent=1),
                                   encoding="utf-8")
    failed = [row for row in rows if not all(row.judged)]
    size = "full size" if args.full else "grading size"
    print(f"\n{len(rows)} claims, {len(args.seeds)} seeds, {size}: "
          f"{len(rows) - len(failed)} held on every seed, {len(failed)} did not")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``claims`` subcommand."""
    claims = subparsers.add_parser(
        "claims", help="run the notebooks on several seeds and check their claims")
    claims.add_argument("slugs", nargs="*", metavar="SLUG", help="notebooks (default: all)")
    claims.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], metavar="SEED",
                        help="seeds to run each notebook with (default: 0 1 2)")
    claims.add_argument("--full", action="store_true", help="full-size runs (default: the "
                        "grading size CI runs: fewer epochs, less data)")
    claims.add_argument("--course-dir", metavar="DIR", help="course directory (default: the "
                        "repository's)")
    claims.add_argument("--json", metavar="FILE", help="also write the table as JSON")
    claims.add_argument("--no-progress", action="store_true", help="no progress bar")
    claims.set_defaults(handler=_claims)

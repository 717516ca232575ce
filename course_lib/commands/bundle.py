"""``course bundle OUT_DIR``: the student distribution (instructors only)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _bundle(args: argparse.Namespace) -> int:
    from course_lib.grading.bundle import bundle
    from course_lib.grading.course import course_dir

    made = bundle(course_dir(args.course_dir), Path(args.out))
    print(f"wrote the student distribution to {made.folder} in {made.seconds:.0f} s:")
    print(f"  {made.wheel.name} (student edition: no references, no hidden tests, no grading; "
          f"{made.answers} stored answers)")
    print("  notebooks/ (released), README.md (for students)")
    print(f"  and all of it as {made.archive} (upload it to your LMS)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bundle`` subcommand."""
    bundle = subparsers.add_parser(
        "bundle", help="write the student distribution: released notebooks and a course_lib "
        "without references, hidden tests or grading")
    bundle.add_argument("out", metavar="OUT_DIR", help="a new (or empty) folder")
    bundle.add_argument("--course-dir", metavar="DIR", help="course directory (default: here)")
    bundle.set_defaults(handler=_bundle)

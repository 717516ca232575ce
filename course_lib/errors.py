"""The one error the user sees as a single line: :class:`CourseError`.

Anything a user can fix (a missing folder, an unknown assignment, a malformed notebook,
a bad option) is raised as a :class:`CourseError` whose message says what is wrong and
what to do. :func:`course_lib.cli.main` prints it as ``course <command>: error: ...``
and exits with status 2; every other exception is a bug and keeps its traceback.
"""


class CourseError(Exception):
    """A problem with the user's course, files or request; one line, no traceback."""

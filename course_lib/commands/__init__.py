"""Subcommands of the ``course`` command, one module per topic (see course_lib.cli)."""

"""Submissions from an LMS into nbgrader, and grades from nbgrader back to the LMS.

:func:`collect` unpacks the zip an instructor downloads from Canvas ("Download
Submissions"), Moodle (assignment "Download all submissions") or Blackboard Learn
(Grade Center "Assignment File Download") into ``submitted/<student>/<slug>/`` with a
``timestamp.txt`` nbgrader reads, and keeps the students' names and ids in
``students.csv`` (importable with ``nbgrader db student import``). :func:`export`
writes one assignment's scores as the CSV Canvas's or Moodle's gradebook imports.

Modules, by topic:

- :mod:`~.records`: the dataclasses (:class:`Student`, :class:`ScoreRow`, archive entries).
- :mod:`~.archive`: opening a zip safely (no ``..``, no absolute names).
- :mod:`~.canvas`, :mod:`~.moodle`, :mod:`~.blackboard`: each LMS's file names and files.
- :mod:`~.students`: rosters in, ``students.csv`` out, entries matched to students.
- :mod:`~.collect`: the unpacking, timestamps and the :class:`CollectReport`.
- :mod:`~.export`: the gradebook CSVs.

Sources for the formats (stored copies read while writing this):

- Canvas zip names: ``lib/content_zipper.rb`` (``get_filename``,
  ``add_upload_submission``, ``sanitize_user_name``) and ``Attachment.make_unique_filename``
  in ``app/models/attachment.rb`` of github.com/instructure/canvas-lms; the layout matches
  community examples such as github.com/mikewesthad/canvas-unzipper's README.
- Canvas gradebook CSV: ``lib/gradebook_exporter.rb`` (columns, the "    Points
  Possible" row, ``title_with_id``) and ``lib/gradebook_importer.rb`` (header checks,
  student matching by ID, SIS ids, then name) of canvas-lms; Ohio State's "Import a CSV
  file to Carmen grades" (teaching.resources.osu.edu: the columns Canvas requires).
- Moodle zip names: ``download_submissions`` in ``mod/assign/locallib.php`` and
  ``get_uniqueid_for_user`` (the per-assignment ``assign_user_mapping`` table) of
  github.com/moodle/moodle, and the importer test naming
  ``StudentName_StudentID_PluginType_Plugin_FilePathAndName``.
- Moodle grade import: ``grade/import/csv/classes/load_data.php``
  (``map_user_data_with_value``: userid, username, ID number, email) and
  ``grade/import/grade_import_form.php`` (the "Map to" labels) of moodle/moodle.
- Blackboard zip names and receipts: the example name in nbgrader's own
  ``FileNameCollectorPlugin`` (``ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb``),
  CodeGrade's receipt parser ``psef/blackboard.py`` (github.com/te5in/CodeGra.de:
  ``Name: ... (...)``, ``Date Submitted:``, ``Original filename:`` / ``Filename:``) and the
  "Assignment File Download" steps in BBGradebookOrganiser's ``docs/instructions.md``.
"""

from course_lib.grading.lms.collect import LMS_NAMES, CollectReport, collect, timestamp_text
from course_lib.grading.lms.export import EXPORT_LMS, ExportReport, export
from course_lib.grading.lms.records import LmsError, ScoreRow, Skipped, Student
from course_lib.grading.lms.students import read_roster

__all__ = [
    "EXPORT_LMS",
    "LMS_NAMES",
    "CollectReport",
    "ExportReport",
    "LmsError",
    "ScoreRow",
    "Skipped",
    "Student",
    "collect",
    "export",
    "read_roster",
    "timestamp_text",
]

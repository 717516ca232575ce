"""The course's grading pipeline on nbgrader: release, check, grade, feedback, demo.

Everything here drives nbgrader's own API (:class:`nbgrader.apps.NbGraderAPI`, its
converters and preprocessors) with the course's ``nbgrader_config.py``; nothing
re-implements what nbgrader does, so ``course grade`` and plain ``nbgrader autograde``
give the same grades. Modules, by topic:

- :mod:`~course_lib.grading.course`: the course directory, its config, clear errors.
- :mod:`~course_lib.notebook_files`: reading notebooks with one-line errors.
- :mod:`~course_lib.grading.release`: ``solutions/`` to ``notebooks/`` (generate_assignment).
- :mod:`~course_lib.grading.sandbox`: Linux namespaces, read-only views and limits.
- :mod:`~course_lib.grading.isolation`: what a submission's sandboxes hold.
- :mod:`~course_lib.grading.verdicts`: test cells judged outside the notebook.
- :mod:`~course_lib.grading.replay`: the grader's stand-in for a student's function.
- :mod:`~course_lib.grading.student_edition` and :mod:`~course_lib.grading.bundle`:
  what students get (no answer key).
- :mod:`~course_lib.grading.worker`: autograde one submission in an isolated directory.
- :mod:`~course_lib.grading.pool`: the long-lived worker processes and their time limits.
- :mod:`~course_lib.grading.processes`: find and kill a process tree.
- :mod:`~course_lib.grading.scale.warm_kernels`: kernels forked from one that did the imports.
- :mod:`~course_lib.grading.grade`: the parallel batch with time limits and one-line errors.
- :mod:`~course_lib.grading.records`: what a finished submission leaves, so runs resume.
- :mod:`~course_lib.grading.scale.shards`: ``--shard i/n`` over many machines and ``--merge``.
- :mod:`~course_lib.grading.gradebook`: gradebooks by URL (SQLite or a server): copies,
  merges, zero scores, races retried, nbgrader's CSV export.
- :mod:`~course_lib.grading.scan`: flags code that reaches for tools no exercise needs.
- :mod:`~course_lib.grading.report`: the terminal tables.
- :mod:`~course_lib.grading.feedback`: feedback HTML without hidden-test source.
- :mod:`~course_lib.grading.samples`: the sample-submission corpus.
- :mod:`~course_lib.grading.demo`: ``course demo``.
"""

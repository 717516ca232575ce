"""What the notebooks experiment with: models, training, diagnostics, plots, widgets, data.

Every module here is built on PyTorch, NumPy and matplotlib alone and never calls a
reference implementation (:mod:`course_lib.reference`): the experiments of the student
edition, which has no references, run the same code.
"""

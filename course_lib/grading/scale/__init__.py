"""Grading at scale: shards over many machines (:mod:`.shards`) and kernels forked from a
pre-imported zygote (:mod:`.warm_kernels`). Gradebooks on a database server are handled
by :mod:`course_lib.grading.gradebook`, which takes any SQLAlchemy URL."""

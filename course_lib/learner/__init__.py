"""The learner's side: a workspace of their own (``course start``) and checking a notebook as
the grader would (``course check``). Both editions have it; nothing here grades a class."""

"""The mistake libraries: one module per check module, each a list of classic wrong
implementations with the hint that fixes them.

Each :class:`~course_lib.checks.core.Mistake` holds a function with the exercise's
signature that makes exactly one mistake, written the way a student would write it, and
the hint that fixes it. The checks only run them on a case that just failed, and name the
mistake whose output equals the student's. In the student edition these modules hold the
mistakes' outputs on the visible cases instead of their code (data, not code).
"""

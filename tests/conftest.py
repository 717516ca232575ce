"""Fixtures shared by the test files: the throwaway PostgreSQL server (tests/postgres_server.py)
and the student distribution installed in a venv of its own (tests/bundle_fixture.py)."""

from __future__ import annotations

from bundle_fixture import student_bundle
from postgres_server import postgres_db_url, postgres_server, postgres_url

__all__ = ["postgres_db_url", "postgres_server", "postgres_url", "student_bundle"]

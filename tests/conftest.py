"""Fixtures shared by the test files: the throwaway PostgreSQL server (tests/postgres_server.py)."""

from __future__ import annotations

from postgres_server import postgres_db_url, postgres_server, postgres_url

__all__ = ["postgres_db_url", "postgres_server", "postgres_url"]

"""The throwaway PostgreSQL server of tests/postgres_server.py works as the shared-gradebook
tests need: loopback only, really PostgreSQL, a fresh database per test, nbgrader's Gradebook
on it, and concurrent writers from separate processes losing nothing."""

from __future__ import annotations

import multiprocessing
import socket
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy
from postgres_server import (
    ENV_URL,
    PostgresServer,
    drop_database,
    find_server_binaries,
    fresh_database,
    private_server,
    session_server,
)

PROCESS_TIMEOUT_S = 120  # spawned writers import nbgrader (seconds on a busy machine)
STUDENTS_PER_WRITER = 15
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp prints it (little-endian)
TCP_LISTEN = "0A"


def _scalar(url: str, sql: str):
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(sql)).scalar_one()
    finally:
        engine.dispose()


def _listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as the kernel prints them) with a TCP socket listening on port."""
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == TCP_LISTEN and int(port_hex, 16) == port:
                addresses.append(address)
    return addresses


def _non_loopback_address() -> str | None:
    """An IPv4 address of this host outside 127.0.0.0/8, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: picks a route, sends nothing
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_server_listens_on_a_private_socket_or_loopback_only(postgres_server: PostgresServer,
                                                               postgres_url: str):
    if postgres_server.host.startswith("/"):  # the pgserver wheel: a Unix socket, no TCP at all
        assert _scalar(postgres_url, "SHOW listen_addresses") == ""
        assert Path(postgres_server.host).is_dir()
        return
    assert postgres_server.host == "127.0.0.1"
    assert _scalar(postgres_url, "SHOW listen_addresses") == "127.0.0.1"
    assert _scalar(postgres_url, "SELECT host(inet_server_addr())") == "127.0.0.1"
    assert _listening_addresses(postgres_server.port) == [LOOPBACK_HEX]
    other = _non_loopback_address()
    if other is not None:  # the same port on the host's own LAN address must refuse us
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((other, postgres_server.port), timeout=5).close()


def test_database_is_postgresql_through_psycopg(postgres_url: str):
    assert _scalar(postgres_url, "SELECT version()").startswith("PostgreSQL ")
    engine = sqlalchemy.create_engine(postgres_url)
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    engine.dispose()


def test_each_test_gets_its_own_empty_database(postgres_url: str, postgres_db_url: str):
    url = sqlalchemy.engine.make_url
    assert url(postgres_db_url).database != url(postgres_url).database
    engine = sqlalchemy.create_engine(postgres_db_url, poolclass=sqlalchemy.pool.NullPool)
    assert sqlalchemy.inspect(engine).get_table_names() == []
    engine.dispose()


def test_server_binaries_are_found():
    bindir = find_server_binaries()
    assert bindir is not None and (bindir / "initdb").is_file()


def test_the_fallback_starts_a_loopback_server_from_plain_binaries(postgres_server):
    """Debian's path, run with whatever binaries there are (the wheel's at least): initdb and
    pg_ctl on a free port of 127.0.0.1 (the session server made the system user it needs)."""
    with private_server(find_server_binaries()) as server:
        assert server.host == "127.0.0.1" and server.data_dir.is_dir()
        url = fresh_database(server.admin_url, "fallback_check")
        assert _scalar(url, "SHOW listen_addresses") == "127.0.0.1"


def test_missing_binaries_fail_with_one_clear_line():
    one_clear_line = r"^no PostgreSQL server: install the dev extra .*pgserver wheel[^\n]*$"
    with pytest.raises(pytest.fail.Exception, match=one_clear_line), private_server(None):
        pass


def test_external_server_url_is_used_without_starting_one(postgres_server, monkeypatch):
    external = postgres_server.admin_url.set(database="somewhere_else")
    monkeypatch.setenv(ENV_URL, external.render_as_string(hide_password=False))
    with session_server() as server:
        assert server.data_dir is None  # nothing was started
        assert server.admin_url == postgres_server.admin_url  # maintenance db "postgres"


def test_fresh_database_and_drop_database(postgres_server: PostgresServer):
    name = f"course_plumbing_{uuid.uuid4().hex[:8]}"
    url = fresh_database(postgres_server.admin_url, name)
    try:
        assert _scalar(url, "SELECT current_database()") == name
    finally:
        drop_database(url)
    exists = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    admin = postgres_server.admin_url.render_as_string(hide_password=False)
    assert _scalar(admin, exists) == 0


def test_fresh_database_rejects_a_name_that_is_not_an_identifier(postgres_server):
    with pytest.raises(ValueError, match=r"name: expected a lower-case SQL identifier.*'x; DROP"):
        fresh_database(postgres_server.admin_url, "x; DROP DATABASE postgres")


def test_gradebook_schema_and_round_trip(postgres_db_url: str):
    from nbgrader.api import Gradebook

    due = datetime(2026, 12, 1, 23, 59)
    with Gradebook(postgres_db_url) as gradebook:
        gradebook.add_student("ada", first_name="Ada", last_name="Lovelace")
        gradebook.add_assignment("01_why_nonlinearity", duedate=due)
    engine = sqlalchemy.create_engine(postgres_db_url, poolclass=sqlalchemy.pool.NullPool)
    tables = set(sqlalchemy.inspect(engine).get_table_names())
    engine.dispose()
    assert {"student", "assignment", "notebook", "grade", "alembic_version"} <= tables
    with Gradebook(postgres_db_url) as gradebook:  # a new connection reads it back
        student = gradebook.find_student("ada")
        assert (student.first_name, student.last_name) == ("Ada", "Lovelace")
        assert gradebook.find_assignment("01_why_nonlinearity").duedate == due


def _write_students(url: str, prefix: str, start, results) -> None:
    """A grader process: add this writer's students, then race the other writer for one
    shared student; report what was added and how the race ended."""
    from nbgrader.api import Gradebook

    with Gradebook(url) as gradebook:
        start.wait(timeout=PROCESS_TIMEOUT_S)
        for index in range(STUDENTS_PER_WRITER):
            gradebook.add_student(f"{prefix}{index:02d}")
        start.wait(timeout=PROCESS_TIMEOUT_S)
        try:
            gradebook.add_student("shared")
            outcome = "added"
        except Exception as error:  # the lead's retry logic needs the exact class: report it
            outcome = f"{type(error).__module__}.{type(error).__name__}: {error.args[0]}"
    results.put((prefix, outcome))


def test_two_processes_write_one_gradebook_without_losing_anything(postgres_db_url: str):
    from nbgrader.api import Gradebook

    Gradebook(postgres_db_url).close()  # schema first: concurrent create_all races
    context = multiprocessing.get_context("spawn")  # separate interpreters, like graders
    start, results = context.Barrier(2), context.Queue()
    writers = [
        context.Process(target=_write_students, args=(postgres_db_url, prefix, start, results))
        for prefix in ("a", "b")
    ]
    for writer in writers:
        writer.start()
    outcomes = dict(results.get(timeout=PROCESS_TIMEOUT_S) for _ in writers)
    for writer in writers:
        writer.join(timeout=PROCESS_TIMEOUT_S)
        assert writer.exitcode == 0

    with Gradebook(postgres_db_url) as gradebook:
        ids = sorted(student.id for student in gradebook.students)
    expected = sorted(f"{p}{i:02d}" for p in "ab" for i in range(STUDENTS_PER_WRITER))
    assert ids == sorted([*expected, "shared"])
    # Exactly one writer wins the shared student; nbgrader turns the loser's IntegrityError
    # into its own InvalidEntry (a ValueError) carrying PostgreSQL's unique violation.
    assert sorted(outcomes.values())[0] == "added"
    loser = sorted(outcomes.values())[1]
    assert loser.startswith("nbgrader.api.InvalidEntry: (psycopg.errors.UniqueViolation) "
                            'duplicate key value violates unique constraint "student_pkey"')

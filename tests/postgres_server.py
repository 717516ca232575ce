"""A throwaway PostgreSQL server for the shared-gradebook tests.

The fixtures start a real PostgreSQL server of their own, with its data directory and
socket in a temporary directory, and hand out SQLAlchemy URLs (``postgresql+psycopg://``)
that :class:`nbgrader.api.Gradebook` accepts as its ``db_url``. Nothing listens on a
network interface beyond loopback and nothing outlives the test session: the server is
stopped and its directory removed at the end. Where the server comes from, in order:

1. ``$COURSE_TEST_POSTGRES_URL``, an existing server (nothing is started);
2. the ``pgserver`` wheel (the ``dev`` extra): PostgreSQL 16 binaries installed by pip,
   started as any user, root included, on a Unix socket; no root, sudo or apt needed;
3. Debian's server binaries (``initdb``, ``pg_ctl``), on a free port of 127.0.0.1 (as
   root, run as the ``postgres`` system user, since initdb refuses root).

Fixtures:

* ``postgres_server`` (session): the running :class:`PostgresServer`.
* ``postgres_url`` (session): URL of a fresh, empty database of this session.
* ``postgres_db_url`` (function): URL of a fresh, empty database of this test, dropped
  after it, so tests never see each other's gradebooks.

Under pytest-xdist every worker is its own session and starts its own server on its own
port (a second or two, and only in workers that run a PostgreSQL test), so workers share
nothing and a crash in one cannot hang another. Database names also carry the worker id,
which keeps them apart when ``COURSE_TEST_POSTGRES_URL`` points every worker at one
external server instead; that URL must name a role allowed to create databases.

"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.engine import URL, make_url

ENV_URL = "COURSE_TEST_POSTGRES_URL"
SERVER_USER = "postgres"  # the superuser role we create
#: System users that may run the server when we are root (initdb refuses root): Debian's,
#: or the one the pgserver wheel creates.
SYSTEM_USERS = ("postgres", "pgserver")
MISSING_BINARIES = (
    "no PostgreSQL server: install the dev extra (pip install -e \".[dev]\", which brings "
    "the pgserver wheel), or Debian's postgresql (initdb, pg_ctl)"
)
# Settings for a disposable server: speed over durability, loopback only.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "50",
    "shared_buffers": "16MB",
}
START_TIMEOUT_S = 30
PORT_ATTEMPTS = 3  # a free port can be taken between probing it and binding it


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server the tests may create and drop databases on.

    Args:
        admin_url: SQLAlchemy URL of a superuser (or CREATEDB role) on the maintenance
            database ``postgres``.
        data_dir: the cluster's data directory, or ``None`` for an external server.
    """

    admin_url: URL
    data_dir: Path | None = None

    @property
    def host(self) -> str:
        """The TCP host, or the Unix socket's folder (``?host=/path`` in the URL)."""
        return self.admin_url.host or str(self.admin_url.query.get("host", ""))

    @property
    def port(self) -> int:
        return self.admin_url.port or 5432


def find_server_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` if there is none.

    Asks ``pg_config --bindir`` first (it names the version the client tools belong to),
    then Debian's versioned directories ``/usr/lib/postgresql/<major>/bin``, newest first,
    then the binaries inside the ``pgserver`` wheel.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    debian_dirs = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(d) for d in debian_dirs), key=_major_version, reverse=True)
    if _wheel_installed():  # the pgserver wheel ships the same binaries
        import pgserver

        candidates.append(Path(pgserver.__file__).parent / "pginstall" / "bin")
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _major_version(bindir: Path) -> float:
    try:
        return float(bindir.parent.name)
    except ValueError:
        return -1.0


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _system_user() -> str:
    """The system user that runs the server when we are root."""
    for name in SYSTEM_USERS:
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    raise RuntimeError(f"running as root, initdb needs one of the system users {SYSTEM_USERS} "
                       "(Debian's postgresql package or the pgserver wheel creates one); "
                       "there is none")


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` run as :func:`_system_user` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", _system_user(), "--", *command]


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {output[-2000:]}")


class LocalServer:
    """Start and stop a private cluster under ``root`` with the binaries in ``bindir``."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir = bindir
        self.root = root
        self.data_dir = root / "data"
        self.socket_dir = root / "socket"
        self.log_file = root / "server.log"
        self.password = secrets.token_urlsafe(16)
        self.port: int | None = None

    def init(self) -> None:
        """initdb with password (SCRAM) logins over TCP, trust over the private socket."""
        self.socket_dir.mkdir()
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            for path in (self.root, self.socket_dir, password_file):
                shutil.chown(path, user=_system_user())
        _run(
            [
                str(self.bindir / "initdb"),
                "--pgdata", str(self.data_dir),
                "--username", SERVER_USER,
                "--pwfile", str(password_file),
                "--auth-host", "scram-sha-256",
                "--auth-local", "trust",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",
            ],
            "initdb",
        )
        password_file.unlink()
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\n# course tests: a disposable server on loopback\n")
            for name, value in SERVER_SETTINGS.items():
                conf.write(f"{name} = {value}\n")
            conf.write(f"unix_socket_directories = '{self.socket_dir}'\n")

    def start(self) -> None:
        """pg_ctl start on a free loopback port, retrying if another process takes it."""
        for _ in range(PORT_ATTEMPTS):
            self.port = _free_loopback_port()
            try:
                _run(
                    [
                        str(self.bindir / "pg_ctl"),
                        "--pgdata", str(self.data_dir),
                        "--log", str(self.log_file),
                        "--options", f"-p {self.port}",
                        "--wait", "--timeout", str(START_TIMEOUT_S),
                        "start",
                    ],
                    "pg_ctl start",
                )
                return
            except RuntimeError as error:
                last_error = error
                if "could not bind" not in self._log_tail():
                    break
        raise RuntimeError(f"{last_error}\nserver log:\n{self._log_tail()}")

    def stop(self) -> None:
        # "immediate" skips the shutdown checkpoint: the data is deleted right after.
        _run(
            [str(self.bindir / "pg_ctl"), "--pgdata", str(self.data_dir),
             "--mode", "immediate", "--wait", "stop"],
            "pg_ctl stop",
        )

    def admin_url(self) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username=SERVER_USER,
            password=self.password,
            host="127.0.0.1",
            port=self.port,
            database="postgres",
        )

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text()[-2000:]
        except OSError:
            return "(no server log)"


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _database_name(label: str) -> str:
    """A new database name: the xdist worker, a label and a random suffix, SQL-safe."""
    raw = f"course_{_worker_id()}_{label}_{uuid.uuid4().hex[:10]}".lower()
    return re.sub(r"[^a-z0-9_]", "_", raw)[:63]  # 63 bytes: PostgreSQL's identifier limit


def _admin_engine(url: str | URL) -> sqlalchemy.Engine:
    """An autocommit engine on the maintenance database (CREATE DATABASE needs autocommit)."""
    admin_url = make_url(url)
    admin_url = admin_url.set(database="postgres")
    return sqlalchemy.create_engine(
        admin_url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool
    )


def _quoted(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(
            f"name: expected a lower-case SQL identifier of at most 63 characters "
            f"(letters, digits, '_'), got {name!r}"
        )
    return f'"{name}"'


def fresh_database(url: str | URL, name: str) -> str:
    """Create an empty database ``name`` on the server of ``url``.

    Args:
        url: SQLAlchemy URL of a role that may create databases; its database part is
            ignored (the maintenance database ``postgres`` is used to create the new one).
        name: the new database's name, a lower-case SQL identifier.

    Returns:
        The SQLAlchemy URL (as a string, password included) of the new database.
    """
    _admin_execute(url, f"CREATE DATABASE {_quoted(name)}")
    new_url = make_url(url).set(database=name)
    return new_url.render_as_string(hide_password=False)


def drop_database(url: str | URL) -> None:
    """Drop the database named by ``url``, closing any connection still open to it."""
    quoted = _quoted(make_url(url).database or "")
    # WITH (FORCE) (PostgreSQL 13+): a test that leaked a connection must not make
    # teardown fail or hang.
    _admin_execute(url, f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")


def _admin_execute(url: str | URL, statement: str) -> None:
    """Run one statement on the server's maintenance database (outside a transaction)."""
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(statement))
    finally:
        engine.dispose()


@contextmanager
def private_server(bindir: Path | None) -> Iterator[PostgresServer]:
    """Start a private server with the binaries in ``bindir``; stop and delete it after.

    Fails the test (never skips it) when ``bindir`` is ``None`` or the server cannot start.
    """
    if bindir is None:
        pytest.fail(MISSING_BINARIES, pytrace=False)
    root = Path(tempfile.mkdtemp(prefix=f"course-pg-{_worker_id()}-"))
    server = LocalServer(bindir, root)
    try:
        try:
            server.init()
            server.start()
        except RuntimeError as error:
            pytest.fail(f"could not start PostgreSQL from {bindir}: {error}", pytrace=False)
        try:
            yield PostgresServer(admin_url=server.admin_url(), data_dir=server.data_dir)
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def wheel_server() -> Iterator[PostgresServer]:
    """A private server from the ``pgserver`` wheel, on a Unix socket in a temporary folder."""
    import warnings

    import pgserver

    root = Path(tempfile.mkdtemp(prefix=f"course-pg-{_worker_id()}-"))
    try:
        with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
            warnings.simplefilter("ignore")
            server = pgserver.get_server(root / "data", cleanup_mode="stop")
        try:
            url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
            yield PostgresServer(admin_url=url, data_dir=root / "data")
        finally:
            server.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wheel_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pgserver") is not None


@contextmanager
def session_server() -> Iterator[PostgresServer]:
    """``$COURSE_TEST_POSTGRES_URL``'s server if it is set (nothing started), else a
    private one from the ``pgserver`` wheel, else from :func:`find_server_binaries`."""
    external = os.environ.get(ENV_URL)
    if external:
        yield PostgresServer(admin_url=make_url(external).set(database="postgres"))
        return
    if _wheel_installed():
        with wheel_server() as server:
            yield server
        return
    with private_server(find_server_binaries()) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's (this xdist worker's) PostgreSQL server; see :func:`session_server`."""
    with session_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of an empty database for this session (this xdist worker)."""
    url = fresh_database(postgres_server.admin_url, _database_name("session"))
    yield url
    drop_database(url)


@pytest.fixture
def postgres_db_url(postgres_server: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of an empty database for this test alone, dropped after it."""
    url = fresh_database(postgres_server.admin_url, _database_name("test"))
    yield url
    drop_database(url)

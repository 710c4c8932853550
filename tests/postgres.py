"""A throwaway PostgreSQL server for tests, from Debian's ``postgresql`` package (``./run test``
installs it like Chromium).

    with PostgresServer() as pg:          # initdb + pg_ctl start: about a second
        pg.url                            # postgresql://o2o:o2o@127.0.0.1:<port>/o2o
        pg.execute("UPDATE ...")          # SQL through psql, as the server's superuser
        rows = pg.query("SELECT ...")     # rows as dicts (json_agg), no Python driver needed

The server is a cluster of its own in a temporary folder: its own free TCP port on 127.0.0.1,
its own unix socket folder, fsync off, stopped (``pg_ctl stop -m immediate``) and deleted on exit.
PostgreSQL refuses to run as root, so when the tests run as root (CI, containers) every server
command runs as the ``postgres`` user the package creates (``runuser -u postgres --``) and the
folder is handed to that user; otherwise it runs as the current user and needs nothing else.
Local (socket) connections are trusted; TCP connections log in as role ``o2o`` with a password.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from o2ochain._chain.connection import free_port

__all__ = ["PG_BINDIR", "PostgresServer", "postgres_available", "postgres_server"]

#: Where Debian's postgresql-15 keeps its server binaries (``$PG_BINDIR`` overrides).
PG_BINDIR = Path(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"))
_SERVICE_USER = "postgres"


def postgres_available() -> str | None:
    """None when a server can be started here, else why not (in words)."""
    if not (PG_BINDIR / "initdb").is_file():
        return f"PostgreSQL is not installed ({PG_BINDIR}/initdb is missing; ./run test installs Debian's postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_SERVICE_USER)
        except KeyError:
            return f"running as root but there is no '{_SERVICE_USER}' user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root but runuser (util-linux) is missing"
    return None


class PostgresServer:
    """One PostgreSQL cluster started for tests: database and role ``o2o`` (password ``o2o``)."""

    def __init__(self, *, database: str = "o2o", role: str = "o2o", password: str = "o2o") -> None:
        self.database, self.role, self.password = database, role, password
        self.port = 0
        self.root: Path | None = None
        self.started_in: float | None = None  # seconds from initdb to a database ready for the role
        self._as_service = os.geteuid() == 0

    @property
    def url(self) -> str:
        """``DATABASE_URL`` for a client connecting over TCP as the test role."""
        return f"postgresql://{self.role}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def socket_dir(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "socket"

    @property
    def data_dir(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        assert self.root is not None, "the server is not started"
        return self.root / "server.log"

    def _run(self, tool: str, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        """Run a PostgreSQL tool (as ``postgres`` when we are root); its stdout, or a clear error."""
        command = [str(PG_BINDIR / tool), *args]
        if self._as_service:
            command = ["runuser", "-u", _SERVICE_USER, "--", *command]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PGTZ": "UTC"}
        env.pop("PGDATABASE", None)
        done = subprocess.run(command, check=False, input=stdin, capture_output=True, text=True, timeout=timeout, env=env, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def start(self) -> PostgresServer:
        reason = postgres_available()
        if reason is not None:
            raise RuntimeError(reason)
        began = time.perf_counter()
        # Not under pytest's tmp_path: its parents are root-only (0700), the server user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="o2ochain-pg-"))
        self.socket_dir.mkdir()
        if self._as_service:
            service = pwd.getpwnam(_SERVICE_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, service.pw_uid, service.pw_gid)
        self.port = free_port()
        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            _SERVICE_USER,
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--auth-local",
            "trust",
            "--auth-host",
            "scram-sha-256",
            "--no-sync",
            "--no-instructions",
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=50",
                "-c shared_buffers=32MB",
            ]
        )
        self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.data_dir),
            "--wait",
            "--timeout",
            "60",
            "--log",
            str(self.log_path),
            "--options",
            options,
        )
        self.execute(
            f"CREATE ROLE {self.role} LOGIN PASSWORD '{self.password}'; CREATE DATABASE {self.database} OWNER {self.role};",
            database="postgres",
        )
        self.started_in = time.perf_counter() - began
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "immediate", "--wait")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def execute(self, sql: str, *, database: str | None = None) -> str:
        """Run ``sql`` (one or more statements, stopping at the first error) as the superuser
        over the unix socket; psql's unaligned output."""
        return self._run(
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            "--set",
            "ON_ERROR_STOP=1",
            "--host",
            str(self.socket_dir),
            "--port",
            str(self.port),
            "--username",
            _SERVICE_USER,
            "--dbname",
            database or self.database,
            stdin=sql,
        )

    def query(self, sql: str, *, database: str | None = None) -> list[dict[str, Any]]:
        """The rows of one SELECT as dicts (through ``json_agg``, so numerics keep their digits
        only up to what JSON numbers hold: cast big values to text in ``sql``)."""
        out = self.execute(f"SELECT coalesce(json_agg(t), '[]'::json) FROM ({sql.rstrip().rstrip(';')}) AS t;", database=database)
        rows: list[dict[str, Any]] = json.loads(out)
        return rows

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; fails, saying why, where none can run (like the
    browser tests without Chromium: ``./run test`` installs both)."""
    reason = postgres_available()
    if reason is not None:
        pytest.fail(reason)
    with PostgresServer() as server:
        yield server

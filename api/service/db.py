"""Storage: engines, sessions and migrations, on SQLite (the embedded default) or
PostgreSQL (psycopg 3).

`Database` holds a session factory for reads and one for writes:

- PostgreSQL: one engine with a bounded pool (`Settings.db_pool_size`); a request that
  waits longer than `db_wait_s` for a connection or a row lock is answered 503. Reads
  run in autocommit (PostgreSQL's READ COMMITTED gives each statement its own snapshot
  either way, so a BEGIN and a ROLLBACK around them were two round trips for nothing),
  and a connection is not pinged at each checkout: a connection that died (a database
  restart) fails its first statement, which is a 503 with Retry-After (`errors.py`),
  and SQLAlchemy then replaces every older connection of the pool; `PG_RECYCLE_S`
  renews connections that sat idle long enough to be cut by the network.
- SQLite: WAL (readers never wait for the writer), a busy timeout, and writes
  serialised inside the process by a write engine of exactly one connection that takes
  the write lock at BEGIN (`BEGIN IMMEDIATE`): concurrent writers queue for that
  connection (up to `db_wait_s`) instead of failing with "database is locked". Reads
  use a pool of their own and plain deferred transactions.

Every engine hides SQL parameters from its error messages (`hide_parameters=True`):
a database error must never carry a volunteer's name into a log line.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from volmatch.api.service.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_LOCK = 74_270_531  # any constant: serialises migrations of processes starting together
SQLITE_READ_POOL = 8
"""Read connections of an SQLite database: readers run in parallel under WAL, but past a
few the GIL, not the file, is the limit."""
PG_RECYCLE_S = 1800
"""A PostgreSQL connection older than this is replaced at its next checkout (instead of a
`SELECT 1` per checkout): firewalls and proxies cut idle connections after tens of minutes."""
IDLE_IN_TRANSACTION_S = 60
"""PostgreSQL drops a session idle inside a transaction this long: a safety net, since
the service never leaves one open across a response."""


@dataclass(frozen=True)
class Database:
    """The service's database: session factories for reads and for writes (the same
    engine on PostgreSQL; on SQLite, a write engine of one connection)."""

    url: str
    engine: Engine
    read_engine: Engine
    reads: sessionmaker[Session]
    writes: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed at the end of the block, rolled back on error."""
        with self.writes() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A short read-only session (its transaction ends with the block)."""
        with self.reads() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine.pool is not self.engine.pool:
            self.read_engine.dispose()


def _sqlite_engine(url: str, *, write: bool, pool_size: int, wait_s: float) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": wait_s},
        poolclass=QueuePool,  # also for ":memory:", whose default pool takes no size
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=wait_s,
        hide_parameters=True,
    )
    busy_ms = int(wait_s * 1000)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite opens transactions lazily; we issue BEGIN ourselves (below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    # Writers take the write lock at BEGIN, so that two transactions that read and then
    # write (claiming a job ...) serialise instead of deadlocking; readers do not lock.
    begin = "BEGIN IMMEDIATE" if write else "BEGIN"

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _pg_engine(url: str, *, pool_size: int, wait_s: float, statement_s: float) -> Engine:
    engine = create_engine(
        url,
        pool_recycle=PG_RECYCLE_S,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=wait_s,
        hide_parameters=True,
    )
    settings = (
        f"SET statement_timeout = {int(statement_s * 1000)}",
        f"SET lock_timeout = {int(wait_s * 1000)}",
        f"SET idle_in_transaction_session_timeout = {IDLE_IN_TRANSACTION_S * 1000}",
    )

    @event.listens_for(engine, "connect")
    def _timeouts(dbapi_conn: Any, _record: Any) -> None:
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        with dbapi_conn.cursor() as cur:
            for stmt in settings:
                cur.execute(stmt)
        dbapi_conn.autocommit = autocommit

    return engine


def open_database(
    url: str,
    *,
    pool_size: int = 10,
    wait_s: float = 10.0,
    statement_timeout_s: float = 30.0,
) -> Database:
    """Engines and session factories for `url` (see the module docstring)."""
    if url.startswith("sqlite"):
        writer = _sqlite_engine(url, write=True, pool_size=1, wait_s=wait_s)
        if url in ("sqlite://", "sqlite:///:memory:"):
            reader = writer  # one connection is the whole database: reads share it
        else:
            reader = _sqlite_engine(
                url, write=False, pool_size=min(pool_size, SQLITE_READ_POOL), wait_s=wait_s
            )
    else:
        writer = _pg_engine(
            url, pool_size=pool_size, wait_s=wait_s, statement_s=statement_timeout_s
        )
        reader = writer.execution_options(isolation_level="AUTOCOMMIT")  # the same pool
    return Database(
        url=url,
        engine=writer,
        read_engine=reader,
        reads=sessionmaker(reader, expire_on_commit=False),
        writes=sessionmaker(writer, expire_on_commit=False),
    )


def database_for(settings: Settings) -> Database:
    """`open_database` with the pool and timeouts of `settings`."""
    return open_database(
        settings.db_url,
        pool_size=settings.db_pool_size,
        wait_s=settings.db_wait_s,
        statement_timeout_s=settings.statement_timeout_s,
    )


def migrate(db: Database) -> None:
    """Bring the schema to the newest revision (idempotent, safe when processes race)."""
    upgrade(db.engine, "head")


def upgrade(engine: Engine, revision: str) -> None:
    """Run the migrations up to `revision` on `engine` (tests start from older ones)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
            return
        except (OperationalError, ProgrammingError):
            # Another process created the tables between our check and our DDL.
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))


_PG_KEY = re.compile(r"Key \(([^)]*)\)=\(([^)]*)\)")


def conflicting_key(exc: BaseException) -> str | None:
    """The key value a unique violation names, when the database says it (PostgreSQL:
    `Key (id)=(P1) already exists.`); ids only, never other columns."""
    detail = getattr(getattr(getattr(exc, "orig", None), "diag", None), "message_detail", None)
    if not isinstance(detail, str):
        return None
    m = _PG_KEY.search(detail)
    return m.group(2) if m else None

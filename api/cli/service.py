"""`volmatch serve`, `volmatch worker` and `volmatch keys create`: the service's commands.

fastapi, uvicorn and sqlalchemy are imported inside the commands so that the other
commands of `volmatch` start fast. All three take the same `--db`.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Annotated, Any

import typer

from volmatch.api.cli.guard import EXIT_BAD_INPUT

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (default $VOLMATCH_DB_URL, else sqlite:///volmatch.db in the "
        "working directory). PostgreSQL: postgresql+psycopg://user@host:5432/db",
    ),
]
"""The service's database, as each service command takes it."""


def _settings(db: str | None, **overrides: Any) -> Any:
    from volmatch.api.service.settings import Settings

    if db is not None:
        overrides["db_url"] = db
    return Settings(**overrides)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    db: DbOpt = None,
    workers: Annotated[
        int, typer.Option("--embedded-workers", help="Job workers inside the server (0: none).")
    ] = 1,
) -> None:
    """Run the HTTP API (migrates the database on start; runs one job worker inside)."""
    import uvicorn

    from volmatch.api.service import create_app

    settings = _settings(db, embedded_worker=workers > 0)
    app = create_app(settings)
    typer.echo(f"volmatch service on http://{host}:{port} (database {_safe(settings.db_url)})",
               err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def worker(
    db: DbOpt = None,
    lease: Annotated[
        float | None, typer.Option("--lease", help="Lease in seconds (default 30).")
    ] = None,
    heartbeat: Annotated[
        float | None, typer.Option("--heartbeat", help="Heartbeat in seconds (default 5).")
    ] = None,
) -> None:
    """Run a job worker against the service's database, until interrupted."""
    from volmatch.api.service.db import make_engine, migrate, session_factory
    from volmatch.api.service.jobs import Worker
    from volmatch.api.service.logs import setup_logging

    overrides: dict[str, Any] = {}
    if lease is not None:
        overrides["lease_s"] = lease
    if heartbeat is not None:
        overrides["heartbeat_s"] = heartbeat
    settings = _settings(db, **overrides)
    setup_logging(settings.log_level)
    engine = make_engine(settings.db_url)
    migrate(engine)
    stop = threading.Event()

    def _stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    Worker(session_factory(engine), settings).run(stop)
    engine.dispose()


def keys_create(
    role: Annotated[str, typer.Option("--role", help="coordinator, planner or host.")],
    host_id: Annotated[
        str | None, typer.Option("--host-id", help="The host partner of a host key.")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="Who the key is for.")] = "",
    db: DbOpt = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from volmatch.api.service.auth import create_key
    from volmatch.api.service.db import make_engine, migrate, session_factory, transaction

    settings = _settings(db)
    engine = make_engine(settings.db_url)
    try:
        migrate(engine)
        with transaction(session_factory(engine)) as session:
            row, token = create_key(session, role, host_id, label)
            info = f"{row.role} key {row.id}" + (f" for host {row.host_id}" if row.host_id else "")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    finally:
        engine.dispose()
    typer.echo(f"created {info}; the key is shown once:", err=True)
    sys.stdout.write(token + "\n")


def keys_app() -> typer.Typer:
    """The `volmatch keys` group (one command today: `create`)."""
    keys = typer.Typer(help="API keys of the service.", no_args_is_help=True)
    keys.command("create")(keys_create)
    return keys

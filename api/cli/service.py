"""`volmatch serve`, `volmatch worker` and `volmatch keys create|list|revoke|rotate`: the
service's commands.

fastapi, uvicorn and sqlalchemy are imported inside the commands so that the other
commands of `volmatch` start fast. All three take the same `--db`.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from volmatch.api.cli.guard import EXIT_BAD_INPUT

T = TypeVar("T")

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
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="API processes (uvicorn workers). More than one only with PostgreSQL; "
            "each runs its own embedded job worker unless --embedded-workers 0.",
        ),
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Load the bundled demo pool into the database if it "
            "is empty, and print one-time sign-in links for a coordinator, a host "
            "partner and a planner.",
        ),
    ] = False,
) -> None:
    """Run the HTTP API and the web pages at / (migrates the database on start; runs one
    job worker inside). SIGTERM or Ctrl-C: in-flight requests get
    VOLMATCH_SHUTDOWN_GRACE_S (5 s) to finish."""
    import os

    import uvicorn

    from volmatch.api.service import create_app
    from volmatch.api.service.logs import uvicorn_log_config

    settings = _settings(db, embedded_worker=workers > 0)
    if processes > 1 and settings.db_url.startswith("sqlite"):
        typer.echo(
            "error: --processes above 1 needs PostgreSQL (--db postgresql+psycopg://"
            "...): SQLite serialises writes inside one process",
            err=True,
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(
        f"volmatch service on http://{host}:{port} (database {_safe(settings.db_url)})", err=True
    )
    if demo:
        _demo(settings, f"http://{host}:{port}")
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": uvicorn_log_config(settings.log_level),
        "access_log": False,
        "timeout_graceful_shutdown": settings.shutdown_grace_s,
        "backlog": BACKLOG,
    }
    if processes > 1:
        # Children build the app from the environment: pass the settings through it.
        os.environ["VOLMATCH_DB_URL"] = settings.db_url
        os.environ["VOLMATCH_EMBEDDED_WORKER"] = "true" if workers > 0 else "false"
        uvicorn.run(
            "volmatch.api.service.app:create_app", factory=True, workers=processes, **common
        )
        return
    app = create_app(settings)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            app.state.stopping.set()  # event streams end now, not at the grace's end
            super().handle_exit(sig, frame)

    Server(uvicorn.Config(app, **common)).run()


def _demo(settings: Any, base_url: str) -> None:
    """`serve --demo`: the demo pool into an empty database, and a sign-in link per role."""
    from volmatch.api.service.db import database_for, migrate
    from volmatch.api.web.demo import demo_links, load_demo_pool

    database = database_for(settings)
    try:
        migrate(database)
        with database.write() as session:
            loaded = load_demo_pool(session)
            links = demo_links(session, settings.web_link_h)
    finally:
        database.dispose()
    typer.echo(
        "loaded the demo pool (300 volunteers, 96 needs of 24 host partners)"
        if loaded
        else "the database already holds records: the demo pool was not loaded",
        err=True,
    )
    typer.echo(
        f"open the pages with a one-time sign-in link (valid {settings.web_link_h:g} h):", err=True
    )
    for role, token in links.items():
        typer.echo(f"  {role:<12} {link_url(base_url, token)}", err=True)


BACKLOG = 4096
"""Connections the kernel queues before the server accepts them: a burst of a thousand
clients must queue, not be refused (uvicorn's default is 2048)."""


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
    from volmatch.api.service.db import database_for, migrate
    from volmatch.api.service.jobs import Worker
    from volmatch.api.service.logs import setup_logging

    overrides: dict[str, Any] = {}
    if lease is not None:
        overrides["lease_s"] = lease
    if heartbeat is not None:
        overrides["heartbeat_s"] = heartbeat
    settings = _settings(db, **overrides)
    setup_logging(settings.log_level)
    database = database_for(settings)
    migrate(database)
    stop = threading.Event()

    def _stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    Worker(database, settings).run(stop)
    database.dispose()


def _with_db(db: str | None, body: Callable[[Any], T]) -> T:
    """Run `body(session)` in one committed transaction on the migrated database; a
    ValueError is bad input (exit 2)."""
    from volmatch.api.service.db import database_for, migrate

    database = database_for(_settings(db))
    try:
        migrate(database)
        with database.write() as session:
            return body(session)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    finally:
        database.dispose()


def keys_create(
    role: Annotated[str, typer.Option("--role", help="coordinator, planner or host.")],
    host_id: Annotated[
        str | None, typer.Option("--host-id", help="The host partner of a host key.")
    ] = None,
    label: Annotated[str, typer.Option("--label", help="Who the key is for.")] = "",
    expires_in_days: Annotated[
        int | None,
        typer.Option(
            "--expires-in-days", help="Days until the key stops working (default: never)."
        ),
    ] = None,
    db: DbOpt = None,
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Also print a one-time sign-in link to the web pages "
            "(works once, for VOLMATCH_WEB_LINK_H hours: 72 by default).",
        ),
    ] = False,
    base_url: Annotated[
        str, typer.Option("--base-url", help="Where the pages are served, for --link.")
    ] = "http://127.0.0.1:8000",
) -> None:
    """Create an API key and print it once (only its hash is stored); with --link, a
    one-time sign-in link to the web pages on the next line."""
    from volmatch.api.service.auth import create_key
    from volmatch.api.web.session import create_link

    settings = _settings(db)

    def create(session: Any) -> tuple[str, str, str]:
        row, token = create_key(session, role, host_id, label, expires_in_days)
        info = f"{row.role} key {row.id}" + (f" for host {row.host_id}" if row.host_id else "")
        if row.expires_at is not None:
            info += f", expires {row.expires_at:%Y-%m-%d %H:%M} UTC"
        url = ""
        if link:
            url = link_url(base_url, create_link(session, row.id, settings.web_link_h))
        return info, token, url

    info, token, url = _with_db(db, create)
    typer.echo(f"created {info}; the key is shown once:", err=True)
    sys.stdout.write(token + "\n")
    if url:
        typer.echo(f"one-time sign-in link (valid {settings.web_link_h:g} h):", err=True)
        sys.stdout.write(url + "\n")


def link_url(base_url: str, token: str) -> str:
    """The address of a sign-in link's page."""
    return f"{base_url.rstrip('/')}/sign-in/link/{token}"


def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Also revoked and expired keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
    db: DbOpt = None,
) -> None:
    """List the API keys (ids, roles, hosts, expiry, last use; never a secret)."""
    import json

    from volmatch.api.service.auth import key_state, list_keys

    def rows(session: Any) -> list[dict[str, Any]]:
        return [
            {
                "id": r.id,
                "role": r.role,
                "host_id": r.host_id,
                "label": r.label,
                "state": key_state(r),
                "created_at": _when(r.created_at),
                "expires_at": _when(r.expires_at),
                "last_used_at": _when(r.last_used_at),
                "revoked_at": _when(r.revoked_at),
                "rotated_at": _when(r.rotated_at),
            }
            for r in list_keys(session, include_inactive=all_keys)
        ]

    found = _with_db(db, rows)
    if as_json:
        for r in found:
            sys.stdout.write(json.dumps(r) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in ("id", "role", "host", "label", "state", "created", "expires", "last used"):
        table.add_column(name, no_wrap=name in ("id", "role", "state"))
    for r in found:
        table.add_row(
            r["id"],
            r["role"],
            r["host_id"] or "",
            r["label"],
            r["state"],
            r["created_at"] or "",
            r["expires_at"] or "never",
            r["last_used_at"] or "never",
        )
    Console().print(table)


def _when(value: Any) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M")


def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    db: DbOpt = None,
) -> None:
    """Revoke a key: every request with it is a 401 from now on."""
    from volmatch.api.service.auth import revoke_key

    def revoke(session: Any) -> bool:
        return revoke_key(session, key_id) is not None

    if not _with_db(db, revoke):
        typer.echo(f"error: no key with id {key_id!r}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"revoked key {key_id}", err=True)


def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")],
    db: DbOpt = None,
) -> None:
    """Give a key a new secret and print it once; the old token stops working now."""
    from volmatch.api.service.auth import rotate_key

    def rotate(session: Any) -> str | None:
        done = rotate_key(session, key_id)
        return None if done is None else done[1]

    token = _with_db(db, rotate)
    if token is None:
        typer.echo(f"error: no key with id {key_id!r}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    typer.echo(f"rotated key {key_id}; the new key is shown once:", err=True)
    sys.stdout.write(token + "\n")


def keys_app() -> typer.Typer:
    """The `volmatch keys` group: create, list, revoke, rotate."""
    keys = typer.Typer(help="API keys of the service.", no_args_is_help=True)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    keys.command("rotate")(keys_rotate)
    return keys

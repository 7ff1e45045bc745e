"""The per-request path of a key: a key this process already verified is still confirmed
against the database on every request (a key revoked, rotated or expired by another
process, `volmatch keys revoke` say, is refused on its very next request, whatever the
request would otherwise have answered), and a read costs one connection, no ping and, on
PostgreSQL, no transaction around it; a write confirms the key in a short read, outside
its write transaction (which on SQLite holds the one writer from its first statement).
A connection cut under the pool is a 503."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, text

from tests.api.service.helpers import Db, make_keys, placements, settings_for

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _other_process(client: Any) -> Any:
    """A database handle of its own, as the `volmatch keys` command would have."""
    from volmatch.api.service.db import database_for

    return database_for(client.app.state.settings)


def _revoke_elsewhere(client: Any, token: str) -> None:
    """Revoke the key of `token` through a database handle of its own (`_other_process`)."""
    from volmatch.api.service.auth import revoke_key

    other = _other_process(client)
    try:
        with other.write() as s:
            revoke_key(s, token.split("_")[1])
    finally:
        other.dispose()


def test_a_revoked_key_is_refused_on_its_next_request_whatever_it_asks(client: Any) -> None:
    host = client.keys.auth("host1")
    p1 = placements()[0]
    assert client.put("/placements/P1", json=p1, headers=host).status_code == 201
    assert client.get("/placements/P1", headers=host).status_code == 200  # remembered now
    assert client.app.state.verified_keys.get(client.keys.host1) is not None
    _revoke_elsewhere(client, client.keys.host1)
    refused = [
        client.get("/placements/P1", headers=host),  # a read
        client.put("/placements/P1", json=p1, headers=host),  # a write
        client.get("/keys", headers=host),  # would be a 403 for a host key
        client.put("/placements/P1", json={"id": "P1"}, headers=host),  # would be a 422
        client.get("/placements/P9", headers=host),  # would be a 404
        client.post(
            "/placements",
            json={**p1, "id": "P7"},
            headers={**host, "Idempotency-Key": "k1"},
        ),
    ]
    assert [r.status_code for r in refused] == [401] * len(refused), [r.text for r in refused]
    assert all("revoked" in r.json()["detail"] for r in refused)
    # The other keys still work, and the refused key's writes did not happen.
    co = client.keys.auth("coordinator")
    assert client.get("/placements/P7", headers=co).status_code == 404


def test_a_key_rotated_or_expired_elsewhere_is_refused_at_once(client: Any) -> None:
    from volmatch.api.service.auth import rotate_key
    from volmatch.api.service.tables import ApiKey

    planner_id = client.keys.planner.split("_")[1]
    host_id = client.keys.host2.split("_")[1]
    assert client.get("/me", headers=client.keys.auth("planner")).status_code == 200
    assert client.get("/placements", headers=client.keys.auth("host2")).status_code == 200
    other = _other_process(client)
    try:
        with other.write() as s:
            _, new_token = rotate_key(s, planner_id)  # type: ignore[misc]
            s.get(ApiKey, host_id).expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    finally:
        other.dispose()
    assert client.get("/me", headers=client.keys.auth("planner")).status_code == 401
    assert client.get("/me", headers=_auth(new_token)).status_code == 200
    assert client.get("/placements", headers=client.keys.auth("host2")).status_code == 401


def test_a_read_takes_one_connection_and_one_round_trip_for_the_key(db: Db) -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(db.url, embedded_worker=False))
    with TestClient(app) as c:
        keys = make_keys(app)
        host = keys.auth("host1")
        assert c.put("/placements/P1", json=placements()[0], headers=host).status_code == 201
        assert c.get("/placements", headers=host).status_code == 200
        database = app.state.db
        checkouts: list[int] = []
        statements: list[tuple[str, bool]] = []

        def on_checkout(*_: Any) -> None:
            checkouts.append(1)

        def on_execute(conn: Any, _cur: Any, stmt: str, *_: Any) -> None:
            dbapi = conn.connection.dbapi_connection
            statements.append((stmt.split()[0], bool(getattr(dbapi, "autocommit", False))))

        # PostgreSQL's read engine is the write engine with options: the same pool and events
        engines = {id(e.pool): e for e in (database.read_engine, database.engine)}.values()
        for engine in engines:
            event.listen(engine.pool, "checkout", on_checkout)
            event.listen(engine, "before_cursor_execute", on_execute)
        try:
            for path in ("/placements", "/placements/P1", "/me"):
                checkouts.clear()
                statements.clear()
                assert c.get(path, headers=host).status_code == 200
                assert len(checkouts) == 1, path
                selects = [s for s, _ in statements if s != "BEGIN"]  # SQLite's, issued by us
                assert selects == ["SELECT"] * len(selects), statements
                assert 1 <= len(selects) <= 2, (path, statements)
                if db.backend == "postgresql":  # no BEGIN / ROLLBACK around a read
                    assert all(auto for _, auto in statements), statements
        finally:
            for engine in engines:
                event.remove(engine.pool, "checkout", on_checkout)
                event.remove(engine, "before_cursor_execute", on_execute)


def test_a_connection_cut_under_the_pool_is_a_503_then_the_service_recovers(db: Db) -> None:
    """No ping per checkout: a connection the database dropped fails its request with a
    503 and Retry-After (never a 500), and the next request gets a new connection.

    One answer only: the request is the first to use the cut connection. The service's
    background threads, which would otherwise meet the cut first (and leave the request
    a fresh connection and a 200: the results watch reads every 2 s), are kept off the
    pool for the test: their periods are longer than it, and a listener checks that the
    first checkout after the cut is the request's."""
    if db.backend != "postgresql":
        pytest.skip("SQLite connections are files: nothing can cut them")
    import threading

    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine

    from volmatch.api.service import create_app

    quiet = 3600.0  # longer than the test: these threads wait before their first look
    settings = settings_for(
        db.url,
        embedded_worker=False,
        db_pool_size=1,
        results_watch_s=0,
        views_built_at_start=0,
        backfill_sweep_s=quiet,
        lifecycle_tick_s=quiet,
        key_touch_s=quiet,
    )
    app = create_app(settings)
    with TestClient(app) as c:
        co = make_keys(app).auth("coordinator")
        assert c.get("/placements", headers=co).status_code == 200
        engine = app.state.db.engine
        with engine.connect() as conn:  # the pool's only connection
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        users: list[str] = []

        def on_checkout(*_: Any) -> None:
            users.append(threading.current_thread().name)

        admin = create_engine(db.url)
        try:
            with admin.begin() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        finally:
            admin.dispose()
        event.listen(engine.pool, "checkout", on_checkout)
        try:
            r = c.get("/placements", headers=co)
        finally:
            event.remove(engine.pool, "checkout", on_checkout)
        assert users and not users[0].startswith("volmatch-"), users  # the request met the cut
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "2"
        assert c.get("/placements", headers=co).status_code == 200
        assert c.get("/me", headers=co).status_code == 200


def test_a_write_confirms_its_key_outside_its_write_transaction(client: Any) -> None:
    """A remembered key is confirmed in a short read, not in the write session: on
    SQLite the write session's first statement takes the write lock (BEGIN IMMEDIATE),
    which would then be held through the endpoint's work before its first write. A
    POST /rounds refused by its validation (in the endpoint) begins no write at all."""
    import threading

    co = client.keys.auth("coordinator")
    assert client.get("/me", headers=co).status_code == 200  # the key is remembered now
    assert client.app.state.verified_keys.get(client.keys.coordinator) is not None
    database = client.app.state.db
    begun: list[str] = []

    def on_begin(conn: Any) -> None:  # the service's own threads (its worker) left out
        name = threading.current_thread().name
        if not name.startswith("volmatch-"):
            begun.append(name)

    event.listen(database.engine, "begin", on_begin)
    try:
        r = client.post("/rounds", json={"document": {"volunteers": "none"}}, headers=co)
    finally:
        event.remove(database.engine, "begin", on_begin)
    assert r.status_code == 422, r.text
    if database.dialect == "sqlite":  # its write engine is its own (PostgreSQL's reads share it)
        assert begun == [], "the write transaction began before the endpoint wrote"
    # A revoked key is still refused by a write, on its next request.
    _revoke_elsewhere(client, client.keys.coordinator)
    r = client.put("/placements/P1", json=placements()[0], headers=co)
    assert r.status_code == 401

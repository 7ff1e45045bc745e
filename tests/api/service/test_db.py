"""The database: migrations are idempotent and match the tables, an existing database of
revision 0001 with data in it upgrades in place; SQLite's pragmas; on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from tests.api.service.helpers import Db, settings_for, store


def test_migrations_are_idempotent_and_match_the_tables(db: Db) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from volmatch.api.service.db import migrate
    from volmatch.api.service.tables import Base

    database, _ = store(db.url)
    migrate(database)  # a second start changes nothing
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # SQLite cannot tell a timezone-aware timestamp from a naive one; ignore type noise.
    assert [d for d in diff if d[0] not in ("modify_type",)] == []
    database.dispose()


def test_a_0001_database_with_data_upgrades_in_place(db: Db) -> None:
    """Keys, hosts, placements and volunteers written by revision 0001 survive the
    upgrade; old keys keep working and get no expiry; old idempotency records go."""
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app
    from volmatch.api.service.db import database_for, upgrade

    database = database_for(settings_for(db.url))
    upgrade(database.engine, "0001")
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO hosts (id, name, created_at) VALUES ('H01', 'H01', :t)"), {"t": now}
        )
        conn.execute(
            text(
                "INSERT INTO placements (id, host_id, data, updated_at) VALUES "
                "('P1', 'H01', :d, :t)"
            ),
            {
                "d": '{"id": "P1", "host": "H01", "title": "T", "country": "NP", '
                '"start": "2027-04-15"}',
                "t": now,
            },
        )
        conn.execute(
            text("INSERT INTO volunteers (id, data, updated_at) VALUES ('V1', :d, :t)"),
            {
                "d": '{"id": "V1", "name": "Ana Lima", "nationality": "BR", '
                '"available_from": "2027-03-01", "available_until": "2028-06-30"}',
                "t": now,
            },
        )
        # The key of token vm_0123456789ab_secret (SHA-256 of "secret").
        conn.execute(
            text(
                "INSERT INTO api_keys (id, secret_hash, role, host_id, label, created_at) VALUES "
                "('0123456789ab', "
                "'2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b', "
                "'coordinator', NULL, 'old', :t)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO idempotency (scope, key, method, path, body_hash, created_at) "
                "VALUES ('anon', 'k', 'POST', '/rounds', 'x', :t)"
            ),
            {"t": now},
        )
    database.dispose()

    app = create_app(settings_for(db.url, embedded_worker=False))
    with TestClient(app) as c:  # starting migrates to head
        auth = {"Authorization": "Bearer vm_0123456789ab_secret"}
        assert c.get("/placements/P1", headers=auth).json()["placement"]["title"] == "T"
        assert c.get("/volunteers/V1", headers=auth).json()["volunteer"]["name"] == "Ana Lima"
        keys = c.get("/keys", headers=auth).json()
        assert [(k["id"], k["state"], k["expires_at"]) for k in keys] == [
            ("0123456789ab", "active", None)
        ]
        with app.state.db.read() as s:
            assert s.execute(text("SELECT count(*) FROM idempotency")).scalar() == 0
            rev = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    from volmatch.api.service.db import MIGRATIONS

    heads = sorted(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("0*.py"))
    assert rev == heads[-1]


def test_sqlite_runs_wal_with_a_busy_timeout_and_one_writer(tmp_path: object) -> None:
    from volmatch.api.service.db import database_for

    database = database_for(settings_for(f"sqlite:///{tmp_path}/x.db", db_wait_s=7))
    with database.read() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 7000
    assert database.engine.pool.size() == 1  # type: ignore[attr-defined]
    database.dispose()


def test_a_0005_database_with_a_result_upgrades_and_pages_it(db: Db) -> None:
    """Revision 0006 (stored paging views) leaves results stored before it without a
    view: their pages read the result itself."""
    import json

    from volmatch.api.service.db import database_for, migrate, upgrade
    from volmatch.api.service.result_pages import ResultViews
    from volmatch.api.service.tables import ResultViewRow

    rid = "0" * 31 + "6"
    database = database_for(settings_for(db.url))
    upgrade(database.engine, "0005")
    doc = {
        "volunteers": [
            {
                "id": "V1",
                "name": "Ana Lima",
                "nationality": "BR",
                "available_from": "2027-03-01",
                "available_until": "2028-06-30",
            }
        ],
        "placements": [{"id": "P1", "host": "H01", "country": "NP", "start": "2027-04-15"}],
    }
    result = {
        "status": "optimal",
        "mode": "optimal",
        "objective": 500,
        "bound": 500,
        "assignments": [
            {
                "volunteer": "V1",
                "placement": "P1",
                "score": 500,
                "start": "2027-04-15",
                "months": 12,
                "breakdown": {},
            }
        ],
        "unmatched_volunteers": [],
        "open_slots": [],
        "kpis": {},
    }
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO rounds (id, name, source, created_by, created_at, n_volunteers, "
                "n_placements, document) VALUES (:id, 'old', 'document', 'k', :t, 1, 1, :d)"
            ),
            {"id": rid, "t": now, "d": json.dumps(doc)},
        )
        conn.execute(
            text(
                "INSERT INTO jobs (round_id, status, progress, attempts, cancel_requested, "
                "created_at) VALUES (:id, 'done', '{}', 1, false, :t)"
            ),
            {"id": rid, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO results (round_id, result, worker, created_at) "
                "VALUES (:id, :r, 'w', :t)"
            ),
            {"id": rid, "r": json.dumps(result), "t": now},
        )
    migrate(database)
    with database.read() as s:
        assert s.get(ResultViewRow, rid) is None
        view = ResultViews().get(s, rid)
        rev = s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert rev >= "0006"
    assert view.assignment_of("V1")["name"] == "Ana Lima"  # type: ignore[index]
    database.dispose()

"""Revision 0003 (the lifecycle tables) upgrades a database of revision 0002 with a
published round in it in place, on SQLite and PostgreSQL: the old rows stay, the new
tables start empty and the round's lifecycle can be started afterwards."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import inspect, text

from tests.api.service.helpers import Db, settings_for

RID = "0" * 31 + "1"
LIFECYCLE_TABLES = {
    "lifecycles",
    "waves",
    "offers",
    "offer_events",
    "offer_tokens",
    "outcomes",
    "outbox",
    "backfills",
}


def _published_0002_database(url: str) -> None:
    """A database left at revision 0002 holding a solved and published round."""
    from volmatch.api.service.db import database_for, upgrade

    database = database_for(settings_for(url))
    upgrade(database.engine, "0002")
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    doc = {
        "volunteers": [
            {
                "id": "V1",
                "name": "Ana Lima",
                "nationality": "BR",
                "available_from": "2027-03-01",
                "available_until": "2028-06-30",
                "training": ["pre-deployment"],
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
    with database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO hosts (id, name, created_at) VALUES ('H01', 'H01', :t)"), {"t": now}
        )
        conn.execute(
            text(
                "INSERT INTO rounds (id, name, source, created_by, created_at, n_volunteers, "
                "n_placements, document) VALUES (:id, 'old', 'document', 'k', :t, 1, 1, :d)"
            ),
            {"id": RID, "t": now, "d": json.dumps(doc)},
        )
        conn.execute(
            text(
                "INSERT INTO jobs (round_id, status, progress, attempts, cancel_requested, "
                "created_at) VALUES (:id, 'done', '{}', 1, false, :t)"
            ),
            {"id": RID, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO results (round_id, result, worker, created_at) "
                "VALUES (:id, :r, 'w', :t)"
            ),
            {"id": RID, "r": json.dumps(result), "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO publications (round_id, published_by, published_at) "
                "VALUES (:id, 'k', :t)"
            ),
            {"id": RID, "t": now},
        )
        pub = conn.execute(text("SELECT id FROM publications")).scalar()
        conn.execute(
            text(
                "INSERT INTO published_assignments (publication_id, volunteer_id, placement_id, "
                "host_id, start, months, score) VALUES (:p, 'V1', 'P1', 'H01', :s, 12, 500)"
            ),
            {"p": pub, "s": dt.date(2027, 4, 15)},
        )
    database.dispose()


def test_a_0002_database_with_a_published_round_upgrades_in_place(db: Db) -> None:
    from volmatch.api.service.db import database_for, migrate

    _published_0002_database(db.url)
    database = database_for(settings_for(db.url))
    migrate(database)
    with database.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= LIFECYCLE_TABLES
        for table in LIFECYCLE_TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        assert conn.execute(
            text("SELECT volunteer_id, placement_id, host_id FROM published_assignments")
        ).all() == [("V1", "P1", "H01")]
        assert conn.execute(text("SELECT round_id FROM publications")).scalar() == RID
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    from volmatch.api.service.db import MIGRATIONS

    assert rev == max(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("0*.py"))
    database.dispose()


def test_a_round_published_before_the_upgrade_gets_its_offers_on_request(db: Db) -> None:
    from fastapi.testclient import TestClient

    from tests.api.service.helpers import make_keys
    from volmatch.api.service import create_app

    _published_0002_database(db.url)
    app = create_app(settings_for(db.url, embedded_worker=False))
    with TestClient(app) as c:
        co = make_keys(app).auth("coordinator")
        assert c.get(f"/rounds/{RID}/lifecycle", headers=co).status_code == 404
        r = c.post(f"/rounds/{RID}/offers", headers=co)
        assert r.status_code == 201, r.text
        assert r.json()["states"] == {"offered": 1} and r.json()["offer_days"] == 14
        [offer] = c.get("/offers", params={"round": RID}, headers=co).json()
        assert (offer["volunteer"], offer["placement"], offer["host"]) == ("V1", "P1", "H01")
        assert c.post(f"/rounds/{RID}/offers", headers=co).status_code == 409

"""Revision 0003 (the lifecycle tables) upgrades a database of revision 0002 with a
published round in it in place, on SQLite and PostgreSQL: the old rows stay, the new
tables start empty and the round's lifecycle can be started afterwards."""

from __future__ import annotations

from sqlalchemy import inspect, text

from tests.api.service.helpers import Db, settings_for
from tests.api.service.lifecycle.helpers import OLD_ROUND_ID, published_0002_database

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


def test_a_0002_database_with_a_published_round_upgrades_in_place(db: Db) -> None:
    from volmatch.api.service.db import database_for, migrate

    published_0002_database(db.url)
    database = database_for(settings_for(db.url))
    migrate(database)
    with database.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= LIFECYCLE_TABLES
        for table in LIFECYCLE_TABLES:
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        assert conn.execute(
            text("SELECT volunteer_id, placement_id, host_id FROM published_assignments")
        ).all() == [("V1", "P1", "H01")]
        assert conn.execute(text("SELECT round_id FROM publications")).scalar() == OLD_ROUND_ID
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    from volmatch.api.service.db import MIGRATIONS

    assert rev == max(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("0*.py"))
    database.dispose()


def test_a_round_published_before_the_upgrade_gets_its_offers_on_request(db: Db) -> None:
    from fastapi.testclient import TestClient

    from tests.api.service.helpers import make_keys
    from volmatch.api.service import create_app

    published_0002_database(db.url)
    app = create_app(settings_for(db.url, embedded_worker=False))
    with TestClient(app) as c:
        co = make_keys(app).auth("coordinator")
        assert c.get(f"/rounds/{OLD_ROUND_ID}/lifecycle", headers=co).status_code == 404
        r = c.post(f"/rounds/{OLD_ROUND_ID}/offers", headers=co)
        assert r.status_code == 201, r.text
        assert r.json()["states"] == {"offered": 1} and r.json()["offer_days"] == 14
        [offer] = c.get("/offers", params={"round": OLD_ROUND_ID}, headers=co).json()
        assert (offer["volunteer"], offer["placement"], offer["host"]) == ("V1", "P1", "H01")
        assert c.post(f"/rounds/{OLD_ROUND_ID}/offers", headers=co).status_code == 409

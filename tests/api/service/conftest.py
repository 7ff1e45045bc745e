"""Fixtures of the service tests: an empty database per test on SQLite and on
PostgreSQL (`db`), and a started app on it with a key per role (`client`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.service.helpers import Db, make_keys, pg_base_url, settings_for, with_schema


@pytest.fixture(name="db", params=["sqlite", "postgresql"])
def db_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    if request.param == "sqlite":
        yield Db("sqlite", f"sqlite:///{tmp_path / 'volmatch.db'}")
        return
    base = pg_base_url()
    if base is None:
        pytest.skip("no PostgreSQL: VOLMATCH_TEST_PG_URL is unset and nothing answers on :5432")
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Db("postgresql", with_schema(base, schema))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(name="client")
def client_fixture(db: Db) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(db.url, max_body_bytes=200_000, max_round_volunteers=50))
    with TestClient(app) as c:
        c.keys = make_keys(app)  # type: ignore[attr-defined]
        yield c

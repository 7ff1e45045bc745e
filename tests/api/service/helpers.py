"""Fixtures and helpers shared by the service tests (imported by the test_service_*
modules): a database per test on SQLite and on PostgreSQL, an app, keys, a small round."""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import plc, vol

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str | None:
    """The PostgreSQL URL to test against, or None when there is none."""
    url = os.environ.get("VOLMATCH_TEST_PG_URL")
    if url:
        return url
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return PG_DEFAULT
    except OSError:
        return None


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@dataclass
class Db:
    """One empty database for one test: an SQLite file or a PostgreSQL schema."""

    backend: str
    url: str


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
        yield Db("postgresql", _with_schema(base, schema))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def settings_for(url: str, **kw: Any) -> Any:
    from volmatch.api.service import Settings

    base: dict[str, Any] = {
        "db_url": url, "poll_s": 0.05, "heartbeat_s": 0.2, "lease_s": 5.0, "log_level": "WARNING",
    }
    base.update(kw)
    return Settings(**base)


@dataclass
class Keys:
    coordinator: str
    planner: str
    host1: str
    host2: str

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, who)}"}


def make_keys(app: Any) -> Keys:
    from volmatch.api.service.auth import create_key
    from volmatch.api.service.db import transaction

    with transaction(app.state.sessions) as s:
        return Keys(
            coordinator=create_key(s, "coordinator")[1],
            planner=create_key(s, "planner")[1],
            host1=create_key(s, "host", "H01")[1],
            host2=create_key(s, "host", "H02")[1],
        )


@pytest.fixture(name="client")
def client_fixture(db: Db) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(db.url, max_body_bytes=200_000, max_round_volunteers=50))
    with TestClient(app) as c:
        c.keys = make_keys(app)  # type: ignore[attr-defined]
        yield c


def volunteers() -> list[dict[str, Any]]:
    return [
        vol("V1", name="Ana Lima", birth_date="2000-01-02", nationality="BR",
            preferences=["P1"]),
        vol("V2", name="Ben Okafor", nationality="NG", skills={"teaching": 4, "nursing": 3}),
        vol("V3", name="Chen Wei", nationality="CN", languages={"en": "C1", "fr": "B2"}),
        vol("V4", name="Dara Kim", nationality="KR", skills={"nursing": 5}),
        vol("V5", name="Eli Sato", nationality="JP", training=[]),  # untrained: never placed
    ]


def placements() -> list[dict[str, Any]]:
    return [
        plc("P1", host="H01", title="Teacher", slots=2, required_skills={"teaching": 2},
            needs_assessment={"beneficiaries": 120}),
        plc("P2", host="H01", title="Nurse", country="KE", required_skills={"nursing": 3}),
        plc("P3", host="H02", title="French tutor", country="SN",
            required_languages={"fr": "B1"}),
    ]


def round_doc() -> dict[str, Any]:
    return {"volunteers": volunteers(), "placements": placements()}


def wait_round(client: Any, rid: str, headers: dict[str, str], timeout: float = 30) -> Any:
    end = time.monotonic() + timeout
    while True:
        r = client.get(f"/rounds/{rid}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("done", "failed", "cancelled"):
            return r.json()
        if time.monotonic() > end:
            raise AssertionError(f"round {rid} still {r.json()['status']} after {timeout}s")
        time.sleep(0.05)

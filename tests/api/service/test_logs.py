"""Logs carry request and job ids, never personal data or keys: not on the normal path,
nor after a conflict, an internal error, a failed solve or a crash. Checked on the app's
log records (every logger) and on a real server's stderr, with planted names and birth
dates, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.api.service.helpers import (
    SQLITE_ONLY,
    Db,
    Server,
    seed,
    solved_round,
    store,
    volunteers,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PLANTED_NAME = "Zoe Plantedname"
PLANTED_BIRTH = "1987-06-05"
PLANTED = (PLANTED_NAME, PLANTED_BIRTH, "Ana Lima", "2000-01-02")


@contextmanager
def captured() -> Iterator[io.StringIO]:
    """Every log record of the process at the levels the service runs with (ours at
    INFO; the libraries' as `setup_logging` leaves them): our loggers do not propagate,
    so each gets the handler, which prints tracebacks as a plain handler would."""
    from volmatch.api.service.logs import LIBRARY_LOGGERS, LOGGER

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    names = ["", LOGGER, *LIBRARY_LOGGERS, "uvicorn", "uvicorn.error"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
    logging.getLogger(LOGGER).setLevel(logging.INFO)
    try:
        yield buf
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def plant(url: str) -> None:
    """A trigger that fails the insert of volunteer V8 as a unique violation (the SQL
    parameters then hold a name and a birth date), and a stored volunteer V9 whose
    record no longer validates and quotes a name in the error."""
    database, _ = store(url)
    bad = json.dumps(
        {
            "id": "V9",
            "name": {"first": PLANTED_NAME},
            "birth_date": PLANTED_BIRTH,
            "nationality": "BR",
            "available_from": "2027-03-01",
            "available_until": "2028-06-30",
        }
    )
    with database.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER plant BEFORE INSERT ON volunteers WHEN NEW.id = 'V8' BEGIN "
                    "SELECT RAISE(ABORT, 'UNIQUE constraint failed: volunteers.id'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION plant() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.id = 'V8' THEN RAISE unique_violation USING MESSAGE = "
                    "'duplicate key value violates unique constraint', "
                    "DETAIL = 'Key (id)=(V8) already exists.'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER plant BEFORE INSERT ON volunteers "
                    "FOR EACH ROW EXECUTE FUNCTION plant()"
                )
            )
        conn.execute(
            text(
                "INSERT INTO volunteers (id, data, updated_at) VALUES ('V9', :d, CURRENT_TIMESTAMP)"
            ),
            {"d": bad},
        )
    database.dispose()


def planted_volunteer() -> dict[str, Any]:
    return {**volunteers()[0], "id": "V8", "name": PLANTED_NAME, "birth_date": PLANTED_BIRTH}


def bad_paths(request: Any, co: dict[str, str]) -> None:
    """The conflict (409) and the internal error (500) paths, through `request`."""
    r = request("POST", "/volunteers", json={"volunteers": [planted_volunteer()]}, headers=co)
    assert r.status_code == 409, r.text
    assert PLANTED_NAME not in r.text
    r = request("PUT", "/volunteers/V8", json=planted_volunteer(), headers=co)
    assert r.status_code == 409
    r = request("GET", "/volunteers/V9", headers=co)
    assert r.status_code == 500 and PLANTED_NAME not in r.text
    assert request("GET", "/volunteers", headers=co).status_code == 500


def assert_clean(text_: str) -> None:
    for secret in PLANTED:
        assert secret not in text_, f"{secret!r} in the logs"


@SQLITE_ONLY
def test_logs_carry_ids_not_personal_data(client: Any) -> None:
    with captured() as buf:
        seed(client)
        co = client.keys.auth("coordinator")
        rid = solved_round(client)
        client.get("/volunteers/V1/export", headers={**co, "X-Request-ID": "req-123"})
    text_ = buf.getvalue()
    assert_clean(text_)
    assert client.keys.coordinator.split("_", 2)[2] not in text_
    assert "request" in text_ and "job finished" in text_
    assert rid  # the job id is on the JSON lines (below)

    from volmatch.api.service.logs import JsonFormatter

    line = JsonFormatter().format(logging.makeLogRecord({"msg": "x", "levelname": "INFO"}))
    assert json.loads(line)["event"] == "x"


def test_conflict_and_error_paths_log_no_personal_data(db: Db, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.api.service.helpers import make_keys, settings_for
    from volmatch.api.service import create_app

    plant(db.url)
    app = create_app(settings_for(db.url))
    with captured() as buf, TestClient(app, raise_server_exceptions=False) as c:
        co = make_keys(app).auth("coordinator")
        bad_paths(c.request, co)
    text_ = buf.getvalue()
    assert_clean(text_)
    assert "IntegrityError" in text_ or "database error" in text_
    assert "unhandled error" in text_


def test_a_real_server_logs_no_personal_data_on_any_path(db: Db, tmp_path: Path) -> None:
    """Conflict, internal error, a SIGKILL mid-solve and a SIGTERM: the server's whole
    stderr is JSON lines without the planted data."""
    from volmatch.api.service.auth import create_key

    plant(db.url)
    database, _ = store(db.url)
    with database.write() as s:
        co = {"Authorization": f"Bearer {create_key(s, 'coordinator')[1]}"}
    database.dispose()
    server = Server(db.url, tmp_path, env={"VOLMATCH_WORKER_TEST_DELAY_S": "1"})
    try:

        def request(method: str, path: str, **kw: Any) -> httpx.Response:
            return httpx.request(method, f"{server.base}{path}", timeout=30, **kw)

        bad_paths(request, co)
        r = request(
            "POST",
            "/rounds",
            json={"document": {"volunteers": [planted_volunteer()], "placements": []}},
            headers=co,
        )
        assert r.status_code in (202, 422)
        server.restart()  # SIGKILL, maybe mid-solve: the job is re-claimed after its lease
        bad_paths(request, co)
    finally:
        took = server.stop()
    assert took < 10
    assert_clean(server.log)
    lines = [line for line in server.log.splitlines() if line.strip()]
    not_json = [
        line for line in lines if not line.startswith("{") and "volmatch service on" not in line
    ]
    assert not_json == [], not_json[:5]
    assert any('"status": 409' in line for line in lines)

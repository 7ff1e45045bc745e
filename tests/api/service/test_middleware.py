"""Request plumbing: the body limit (413) and `Idempotency-Key` replays per API key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
    round_doc,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_body_limit_is_413(client: Any) -> None:
    big = {"document": {"volunteers": [], "placements": [], "pad": "x" * 250_000}}
    r = client.post("/rounds", json=big, headers=client.keys.auth("coordinator"))
    assert r.status_code == 413
    assert "larger than 200000 bytes" in r.json()["detail"]


def test_idempotency_key(client: Any) -> None:
    co = client.keys.auth("coordinator")
    body = {"document": round_doc(), "name": "once"}
    first = client.post("/rounds", json=body, headers={**co, "Idempotency-Key": "k1"})
    again = client.post("/rounds", json=body, headers={**co, "Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/rounds", headers=co).json()) == 1
    other = client.post(
        "/rounds", json={**body, "name": "twice"}, headers={**co, "Idempotency-Key": "k1"}
    )
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    # Keys are per API key: another caller's k1 is a different key.
    pl = client.post(
        "/rounds", json=body, headers={**client.keys.auth("planner"), "Idempotency-Key": "k1"}
    )
    assert pl.status_code == 403
    long_key = client.post("/rounds", json=body, headers={**co, "Idempotency-Key": "k" * 201})
    assert long_key.status_code == 422


def test_idempotency_keys_only_for_valid_keys_and_replays_are_identical(client: Any) -> None:
    from sqlalchemy import func, select

    from volmatch.api.service.tables import IdempotencyRecord

    def stored() -> int:
        with client.app.state.db.read() as s:
            return int(s.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0)

    body = {"document": round_doc()}
    for k in range(30):  # anonymous or with a bad key: 401, and nothing is kept
        headers = {"Idempotency-Key": f"anon-{k}"}
        if k % 2:
            headers["Authorization"] = "Bearer vm_000000000000_nope"
        assert client.post("/rounds", json=body, headers=headers).status_code == 401
    assert stored() == 0

    co = {**client.keys.auth("coordinator"), "Idempotency-Key": "once"}
    first = client.post("/rounds", json=body, headers=co)
    again = client.post("/rounds", json=body, headers=co)
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    for h in ("location", "content-type"):
        assert again.headers[h] == first.headers[h]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert stored() == 1
    # A failed request (4xx) is not kept: the same key may be retried.
    bad = {**client.keys.auth("coordinator"), "Idempotency-Key": "fails"}
    assert client.post("/rounds", json={"document": {}}, headers=bad).status_code == 422
    assert stored() == 1


def test_idempotency_records_expire(client: Any) -> None:
    import datetime as dt

    from volmatch.api.service import idempotency
    from volmatch.api.service.tables import IdempotencyRecord

    co = {**client.keys.auth("coordinator"), "Idempotency-Key": "daily"}
    body = {"document": round_doc()}
    first = client.post("/rounds", json=body, headers=co).json()["id"]
    with client.app.state.db.write() as s:
        for rec in s.query(IdempotencyRecord):
            rec.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
    again = client.post("/rounds", json=body, headers=co)
    assert again.status_code == 202 and again.json()["id"] != first  # a new key by now
    assert "idempotent-replayed" not in again.headers
    with client.app.state.db.write() as s:
        for rec in s.query(IdempotencyRecord):
            rec.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=25)
        assert idempotency.purge(s, client.app.state.settings.idempotency_ttl_h) == 1


def test_long_paths_with_an_idempotency_key_are_no_500(client: Any) -> None:
    co = {**client.keys.auth("coordinator"), "Idempotency-Key": "long"}
    for path in ("/rounds/" + "a" * 600 + "/publish", "/" + "x" * 600, "/placements/" + "P" * 600):
        r = client.post(path, json={}, headers=co)
        assert r.status_code in (404, 405, 422), (path[:20], r.status_code, r.text)


@SQLITE_ONLY
def test_options_and_405_name_the_allowed_methods(client: Any) -> None:
    r = client.options("/placements/P1")
    assert r.status_code == 204
    assert r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    r = client.request("PATCH", "/placements/P1", headers=client.keys.auth("coordinator"))
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
    assert client.options("/nowhere").status_code == 404
    assert client.options("/health").headers["allow"] == "GET, HEAD, OPTIONS"
    head = client.head("/placements", headers=client.keys.auth("coordinator"))
    get = client.get("/placements", headers=client.keys.auth("coordinator"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"]

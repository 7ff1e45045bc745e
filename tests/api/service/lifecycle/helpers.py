"""Helpers of the lifecycle tests: a small published round with more volunteers than
slots (so that declines can be backfilled), short-cuts for offers and proposals, and a
database of revision 0002 with a round published before offers existed."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.service.helpers import settings_for, wait_round
from tests.helpers import plc, vol

KEY_ROLES = (("coordinator", None), ("planner", None), ("host", "H01"), ("host", "H02"))
"""The keys these helpers use (role, host), in the order of `helpers.Keys`' fields."""
OLD_ROUND_ID = "0" * 31 + "1"
"""The round of `published_0002_database`."""


def pool() -> list[dict[str, Any]]:
    """Six volunteers for four slots; skills make the best fits differ."""
    return [
        vol(
            "V1", name="Ana Lima", birth_date="2000-01-02", nationality="BR", skills={"teaching": 5}
        ),
        vol("V2", name="Ben Okafor", nationality="NG", skills={"teaching": 4, "nursing": 3}),
        vol("V3", name="Chen Wei", nationality="CN", skills={"nursing": 5}),
        vol("V4", name="Dara Kim", nationality="KR", skills={"teaching": 2}),
        vol("V5", name="Eli Sato", nationality="JP", skills={"nursing": 2}),
        vol("V6", name="Fay Ng", nationality="SG", skills={"teaching": 1}),
    ]


def needs() -> list[dict[str, Any]]:
    """Three needs of H01 and H02 with four slots."""
    return [
        plc("P1", host="H01", title="Teacher", slots=2, desired_skills={"teaching": 5}),
        plc("P2", host="H01", title="Nurse", country="KE", desired_skills={"nursing": 5}),
        plc("P3", host="H02", title="Tutor", country="SN", desired_skills={"teaching": 3}),
    ]


def published(c: Any, **policy: Any) -> str:
    """Store the needs and the pool, solve a round of them, publish it; its id."""
    rid = solved(c, **policy)
    assert c.post(f"/rounds/{rid}/publish", headers=c.keys.auth("coordinator")).status_code == 201
    return rid


def solved(c: Any, **policy: Any) -> str:
    """Store the needs and the pool, solve a round of them; its id."""
    co = c.keys.auth("coordinator")
    for p in needs():
        who = "host1" if p["host"] == "H01" else "host2"
        assert c.post("/placements", json=p, headers=c.keys.auth(who)).status_code == 201
    assert c.post("/volunteers", json={"volunteers": pool()}, headers=co).status_code == 200
    body: dict[str, Any] = {"name": "spring"}
    if policy:
        body["policy"] = policy
    r = c.post("/rounds", json=body, headers=co)
    assert r.status_code == 202, r.text
    rid = str(r.json()["id"])
    assert wait_round(c, rid, co)["status"] == "done"
    return rid


def offers(c: Any, rid: str, who: str = "coordinator") -> dict[str, dict[str, Any]]:
    """Volunteer -> their newest offer in the round."""
    r = c.get("/offers", params={"round": rid}, headers=c.keys.auth(who))
    assert r.status_code == 200, r.text
    return {o["volunteer"]: o for o in r.json()}


def lifecycle(c: Any, rid: str) -> dict[str, Any]:
    r = c.get(f"/rounds/{rid}/lifecycle", headers=c.keys.auth("coordinator"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def computed(c: Any, backfill: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """A proposal a change asked for, once computed (it is answered `pending`)."""
    end = time.monotonic() + timeout
    while backfill["status"] == "pending":
        assert time.monotonic() < end, f"proposal {backfill['id']} still pending"
        time.sleep(0.02)
        r = c.get(backfill["url"], headers=c.keys.auth("coordinator"))
        assert r.status_code == 200, r.text
        backfill = r.json()
    return backfill


def with_proposal(c: Any, out: dict[str, Any]) -> dict[str, Any]:
    """A change's answer with its backfill proposal computed."""
    if out.get("backfill") is not None:
        out = {**out, "backfill": computed(c, out["backfill"])}
    return out


def asked(c: Any, rid: str) -> dict[str, Any]:
    """`POST /rounds/{rid}/backfills`: answered 202 at once with the proposal pending and
    its URL (also the Location); the proposal once computed."""
    r = c.post(f"/rounds/{rid}/backfills", headers=c.keys.auth("coordinator"))
    assert r.status_code == 202, r.text
    out = dict(r.json())
    assert out["status"] == "pending" and out["proposal"] is None, r.text
    assert r.headers["location"] == out["url"]
    return computed(c, out)


def decline(c: Any, offer_id: int, reason: str = "personal") -> dict[str, Any]:
    """Record a decline; its answer, with the proposal it asked for once computed."""
    r = c.post(
        f"/offers/{offer_id}/reply",
        json={"answer": "decline", "reason": reason},
        headers=c.keys.auth("coordinator"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["backfill"]["status"] == "pending", r.text
    return with_proposal(c, dict(r.json()))


def accept(c: Any, offer_id: int) -> dict[str, Any]:
    r = c.post(
        f"/offers/{offer_id}/reply", json={"answer": "accept"}, headers=c.keys.auth("coordinator")
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def state(c: Any, offer_id: int, to: str, **kw: Any) -> dict[str, Any]:
    r = c.post(
        f"/offers/{offer_id}/state", json={"to": to, **kw}, headers=c.keys.auth("coordinator")
    )
    assert r.status_code == 200, r.text
    return with_proposal(c, dict(r.json()))


class Gate:
    """A solver stub that holds every backfill solve until released (the `gate` fixture):
    a rules round's solve, tens of seconds, without spending them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from volmatch.api.service.lifecycle import backfill

        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.calls = 0
        real = backfill.solve

        def slow(*args: Any) -> dict[str, Any]:
            self.calls += 1
            self.started.set()
            assert self.release.wait(30), "the test never released the solver"
            try:
                return real(*args)
            finally:
                self.finished.set()

        monkeypatch.setattr(backfill, "solve", slow)


def published_0002_database(url: str) -> None:
    """A database left at revision 0002 holding a solved and published round
    (`OLD_ROUND_ID`): a round published before offers existed."""
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
            {"id": OLD_ROUND_ID, "t": now, "d": json.dumps(doc)},
        )
        conn.execute(
            text(
                "INSERT INTO jobs (round_id, status, progress, attempts, cancel_requested, "
                "created_at) VALUES (:id, 'done', '{}', 1, false, :t)"
            ),
            {"id": OLD_ROUND_ID, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO results (round_id, result, worker, created_at) "
                "VALUES (:id, :r, 'w', :t)"
            ),
            {"id": OLD_ROUND_ID, "r": json.dumps(result), "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO publications (round_id, published_by, published_at) "
                "VALUES (:id, 'k', :t)"
            ),
            {"id": OLD_ROUND_ID, "t": now},
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

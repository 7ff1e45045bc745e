"""Offers: publishing makes one per assignment with its deadline and history; replies,
host decisions and deployment states follow the transitions; wrong changes are clear
4xx that change nothing; hosts see and touch their own offers only. HTTP behaviour:
SQLite only (the storage runs on both backends in the backfill, story and migration
tests)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.api.service.helpers import SQLITE_ONLY
from tests.api.service.lifecycle.helpers import (
    accept,
    computed,
    decline,
    lifecycle,
    offers,
    published,
    state,
)


@SQLITE_ONLY
def test_publishing_makes_an_offer_per_assignment_with_deadline_and_reserves(client: Any) -> None:
    rid = published(client, offer_days=10)
    co = client.keys.auth("coordinator")
    result = client.get(f"/rounds/{rid}/result", headers=co).json()
    got = offers(client, rid)
    assert {(v, o["placement"]) for v, o in got.items()} == {
        (a["volunteer"], a["placement"]) for a in result["assignments"]
    }
    assert len(got) == 4
    for o in got.values():
        assert o["state"] == "offered" and o["wave"] == 1
        created = dt.datetime.fromisoformat(o["created_at"])
        assert dt.datetime.fromisoformat(o["deadline"]) - created == dt.timedelta(days=10)
    lc = lifecycle(client, rid)
    assert lc["version"] == 1 and lc["offer_days"] == 10 and lc["states"] == {"offered": 4}
    unplaced = {u["volunteer"] for u in result["unmatched_volunteers"]}
    listed = {r["volunteer"] for rl in lc["reserves"] for r in rl["reserves"]}
    assert listed and listed <= unplaced and all(rl["exact"] for rl in lc["reserves"])
    one = next(iter(got.values()))
    detail = client.get(f"/offers/{one['id']}", headers=co).json()
    assert [(e["from"], e["to"], e["action"]) for e in detail["events"]] == [
        (None, "offered", "publish")
    ]
    assert detail["events"][0]["by"].startswith("coordinator:")


@SQLITE_ONLY
def test_hosts_see_and_decide_their_own_offers_only(client: Any) -> None:
    rid = published(client)
    mine = offers(client, rid, "host1")
    theirs = offers(client, rid, "host2")
    assert {o["host"] for o in mine.values()} == {"H01"}
    assert {o["host"] for o in theirs.values()} == {"H02"}
    other = next(iter(theirs.values()))
    h1 = client.keys.auth("host1")
    assert client.get(f"/offers/{other['id']}", headers=h1).status_code == 404
    r = client.post(f"/offers/{other['id']}/host", json={"decision": "decline"}, headers=h1)
    assert r.status_code == 404
    assert offers(client, rid)[other["volunteer"]]["state"] == "offered"
    own = next(iter(mine.values()))
    r = client.post(f"/offers/{own['id']}/host", json={"decision": "accept"}, headers=h1)
    assert r.status_code == 200 and r.json()["offer"]["host_decision"] == "accepted"
    assert r.json()["offer"]["state"] == "offered" and r.json()["backfill"] is None
    r = client.post(f"/offers/{own['id']}/host", json={"decision": "decline"}, headers=h1)
    assert r.status_code == 200, r.text
    assert r.json()["offer"]["state"] == "declined"
    assert r.json()["backfill"]["status"] == "pending"
    assert computed(client, r.json()["backfill"])["status"] == "open"
    events = client.get(f"/offers/{own['id']}", headers=h1).json()["events"]
    assert events[-1]["reason"] == "host_declined" and events[-1]["by"] == "host:H01"
    # Hosts do not record volunteers' replies.
    r = client.post(f"/offers/{own['id']}/reply", json={"answer": "accept"}, headers=h1)
    assert r.status_code == 403


@SQLITE_ONLY
def test_replies_follow_the_transitions_and_bad_ones_change_nothing(client: Any) -> None:
    rid = published(client)
    co = client.keys.auth("coordinator")
    got = offers(client, rid)
    a, b = got["V1"], got["V2"]
    r = client.post(f"/offers/{a['id']}/reply", json={"answer": "decline"}, headers=co)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = client.post(
        f"/offers/{a['id']}/reply", json={"answer": "decline", "reason": "bored"}, headers=co
    )
    assert r.status_code == 422
    assert lifecycle(client, rid)["version"] == 1
    assert accept(client, a["id"])["offer"]["state"] == "accepted"
    assert lifecycle(client, rid)["version"] == 2
    for answer in ({"answer": "accept"}, {"answer": "decline", "reason": "personal"}):
        r = client.post(f"/offers/{a['id']}/reply", json=answer, headers=co)
        assert r.status_code == 409 and "no longer be answered" in r.json()["detail"]
    r = client.post(f"/offers/{a['id']}/state", json={"to": "deployed"}, headers=co)
    assert r.status_code == 409 and "pre_departure" in r.json()["detail"]
    state(client, a["id"], "pre_departure")
    state(client, a["id"], "deployed")
    r = client.post(f"/offers/{a['id']}/state", json={"to": "ended_early"}, headers=co)
    assert r.status_code == 422
    state(client, a["id"], "extended")
    history = client.get(f"/offers/{a['id']}", headers=co).json()["events"]
    assert [(e["from"], e["to"]) for e in history] == [
        (None, "offered"),
        ("offered", "accepted"),
        ("accepted", "pre_departure"),
        ("pre_departure", "deployed"),
        ("deployed", "extended"),
    ]
    assert lifecycle(client, rid)["version"] == 2  # deployment states move no one
    out = decline(client, b["id"], "visa")
    assert out["offer"]["state"] == "declined" and out["backfill"]["version"] == 3
    assert client.get("/offers/999999", headers=co).status_code == 404
    assert client.get("/offers", headers=client.keys.auth("planner")).status_code == 403


@SQLITE_ONLY
def test_erasing_a_volunteer_pseudonymises_their_offers_history_and_outbox(client: Any) -> None:
    from sqlalchemy import text

    from volmatch.api.service.lifecycle.reminders import tick

    rid = published(client)
    got = offers(client, rid)
    co = client.keys.auth("coordinator")
    decline(client, got["V1"]["id"], "health")
    with client.app.state.db.write() as s:
        tick(s, dt.datetime.fromisoformat(got["V2"]["deadline"]) - dt.timedelta(days=1))
    r = client.delete("/volunteers/V1", headers=co)
    assert r.status_code == 200, r.text
    assert r.json()["changed"]["lifecycle"] > 0
    tables = ("lifecycles", "waves", "backfills", "offers", "offer_events", "outcomes", "outbox")
    with client.app.state.db.read() as s:
        dump = " ".join(
            str(x) for t in tables for row in s.execute(text(f"SELECT * FROM {t}")) for x in row
        )
    assert "Ana Lima" not in dump and "2000-01-02" not in dump
    import re

    assert re.search(r"(?<![A-Za-z0-9_.-])V1(?![A-Za-z0-9_.-])", dump) is None
    report = client.get("/report", params={"round": rid}, headers=co)
    assert report.status_code == 200 and report.json()["totals"]["declined"] == 1

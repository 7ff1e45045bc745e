"""The whole life of the demo round through the HTTP API, as a coordinator, two host
partners and five volunteers live it: publish, five declines (by the coordinator, the
volunteer's link and a host), a backfill confirmed, a second wave of late volunteers,
deployments, outcomes, the programme report. The report's counts equal the stored
events, and no name or birth date of the pool reaches a log line."""

from __future__ import annotations

import copy
import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.api.service.helpers import Db, make_keys, settings_for, wait_round
from tests.api.service.lifecycle.helpers import asked, computed

DEMO = Path(__file__).resolve().parents[4] / "scenarios" / "demo" / "round.json"
REASONS = ["personal", "dates", "visa", "other_offer"]


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + " " + json.dumps(record.__dict__, default=str))


@pytest.fixture(name="story")
def story_fixture(db: Db) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(db.url))
    service_log = logging.getLogger("volmatch.service")
    kept, level = _Kept(), service_log.level
    service_log.addHandler(kept)
    service_log.setLevel(logging.INFO)
    try:
        with TestClient(app) as c:
            c.keys = make_keys(app)  # type: ignore[attr-defined]
            c.kept = kept  # type: ignore[attr-defined]
            yield c
    finally:
        service_log.removeHandler(kept)
        service_log.setLevel(level)


def test_the_demo_round_from_publication_to_the_programme_report(story: Any) -> None:
    c = story
    co = c.keys.auth("coordinator")
    doc = json.loads(DEMO.read_text(encoding="utf-8"))

    # The coordinator runs the demo round and publishes it: every assignment is an offer.
    r = c.post("/rounds", json={"document": doc, "name": "demo"}, headers=co)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert wait_round(c, rid, co, timeout=120)["status"] == "done"
    assert c.post(f"/rounds/{rid}/publish", headers=co).status_code == 201
    result = c.get(f"/rounds/{rid}/result", headers=co).json()
    offers = {o["volunteer"]: o for o in c.get("/offers", params={"round": rid}, headers=co).json()}
    assert len(offers) == len(result["assignments"]) > 5
    lc = c.get(f"/rounds/{rid}/lifecycle", headers=co).json()
    assert len(lc["reserves"]) == len(doc["placements"])

    # Five declines: three recorded by the coordinator, one through the volunteer's own
    # link, one by the host partner; everyone else accepts.
    ids = sorted(offers)
    out = ids[:5]
    for v, reason in zip(out[:3], REASONS, strict=False):
        r = c.post(
            f"/offers/{offers[v]['id']}/reply",
            json={"answer": "decline", "reason": reason},
            headers=co,
        )
        assert r.status_code == 200, r.text
    link = c.post(f"/offers/{offers[out[3]]['id']}/link", headers=co).json()["url"]
    assert c.post(link, data={"answer": "decline", "reason": "other_offer"}).status_code == 200
    host_id = offers[out[4]]["host"]
    c.post("/keys", json={"role": "host", "host_id": host_id}, headers=co)
    with c.app.state.db.write() as s:
        from volmatch.api.service.auth import create_key

        host_key = create_key(s, "host", host_id)[1]
    hk = {"Authorization": f"Bearer {host_key}"}
    r = c.post(f"/offers/{offers[out[4]]['id']}/host", json={"decision": "decline"}, headers=hk)
    assert r.status_code == 200, r.text
    for v in ids[5:]:
        r = c.post(f"/offers/{offers[v]['id']}/reply", json={"answer": "accept"}, headers=co)
        assert r.status_code == 200, r.text

    # The current backfill proposal fills the five slots where anyone eligible is left,
    # moving nobody who accepted; the coordinator confirms it.
    bfs = c.get(f"/rounds/{rid}/backfills", headers=co).json()
    bfs[-1] = computed(c, bfs[-1])
    assert [b["status"] for b in bfs] == ["superseded"] * 4 + ["open"]
    proposal = asked(c, rid)  # after the acceptances
    body = proposal["proposal"]
    assert sorted(body["declined"]) == out
    assert set(body["frozen"]) == set(ids[5:])
    assert body["moves"] == []
    filled = [n for n in body["new_offers"] if n["replaces"]]
    assert 0 < len(body["new_offers"]) <= 5 and filled
    assert body["total_change"] == body["total"] - body["total_before"]
    assert (
        c.post(f"/rounds/{rid}/backfills/{proposal['id']}/confirm", headers=co).status_code == 200
    )
    now = {o["volunteer"]: o for o in c.get("/offers", params={"round": rid}, headers=co).json()}
    for n in body["new_offers"]:
        assert now[n["volunteer"]]["state"] == "offered"
        assert now[n["volunteer"]]["placement"] == n["placement"]
    for n in body["new_offers"]:
        c.post(f"/offers/{now[n['volunteer']]['id']}/reply", json={"answer": "accept"}, headers=co)

    # A second wave: three late volunteers (copies of placed people under new ids).
    late = []
    for k, v in enumerate(ids[5:8]):
        rec = copy.deepcopy(next(x for x in doc["volunteers"] if x["id"] == v))
        rec["id"] = f"LATE{k}"
        late.append(rec)
    assert c.post("/volunteers", json={"volunteers": late}, headers=co).status_code == 200
    r = c.post(f"/rounds/{rid}/waves", json={"volunteers": [x["id"] for x in late]}, headers=co)
    assert r.status_code == 201, r.text
    wave = r.json()
    assert wave["wave"]["number"] == 2
    wave["backfill"] = computed(c, wave["backfill"])
    assert set(wave["backfill"]["proposal"]["frozen"]) >= set(ids[5:])
    assert (
        c.post(f"/rounds/{rid}/backfills/{wave['backfill']['id']}/confirm", headers=co).status_code
        == 200
    )

    # Deployments and their outcomes: two completed, one ended early.
    going = ids[5:8]
    for v in going:
        for to in ("pre_departure", "deployed"):
            r = c.post(f"/offers/{offers[v]['id']}/state", json={"to": to}, headers=co)
            assert r.status_code == 200, r.text
    outcomes = [
        {"completed": True, "host_rating": 5, "volunteer_rating": 4, "report": "Fine."},
        {"completed": True, "host_rating": 4, "volunteer_rating": 5},
        {"completed": False, "ended_early_reason": "skills_mismatch", "host_rating": 2},
    ]
    for v, o in zip(going, outcomes, strict=True):
        r = c.post(f"/offers/{offers[v]['id']}/outcome", json=o, headers=co)
        assert r.status_code == 201, r.text
    assert len(c.get("/outcomes", params={"round": rid}, headers=co).json()) == 3

    # The report counts what the events say.
    rep = c.get("/report", params={"round": rid}, headers=co).json()
    with c.app.state.db.read() as s:
        evs = s.execute(
            text(
                "SELECT offer_id, from_state, to_state, wave FROM offer_events "
                "WHERE round_id = :r ORDER BY id"
            ),
            {"r": rid},
        ).all()
    reached: dict[str, set[int]] = {}
    last: dict[int, str] = {}
    for offer_id, frm, to, _ in evs:
        if frm != to:
            reached.setdefault(to, set()).add(offer_id)
            last[offer_id] = to
    totals = rep["totals"]
    assert totals["withdrawn"] == len(reached.get("withdrawn", ()))
    holding = {"accepted", "pre_departure", "deployed", "extended", "completed", "ended_early"}
    assert totals["filled"] == sum(s in holding for s in last.values())
    assert totals["offered"] == len(reached["offered"])
    assert totals["accepted"] == len(reached["accepted"])
    assert totals["declined"] == len(reached["declined"]) == 5
    assert totals["deployed"] == len(reached["deployed"]) == 3
    assert totals["completed"] == len(reached["completed"]) == 2
    assert totals["ended_early"] == len(reached["ended_early"]) == 1
    assert totals["decline_reasons"] == dict(
        Counter(["personal", "dates", "visa", "other_offer", "host_declined"])
    )
    assert totals["early_return_reasons"] == {"skills_mismatch": 1}
    waves = Counter(w for _, frm, _, w in evs if frm is None)
    assert {k: v["offered"] for k, v in rep["wave"].items()} == {
        f"{rid}/{k}": n for k, n in waves.items()
    }
    assert rep["outcomes"]["recorded"] == 3 and rep["outcomes"]["completed"] == 2
    xlsx = c.get("/report", params={"round": rid, "format": "xlsx"}, headers=co)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    # No name or birth date of the pool in any log line of the whole story.
    logged = "\n".join(c.kept.lines)
    assert "/offers/" in logged
    for v in doc["volunteers"]:
        assert v["name"] not in logged
        assert v["birth_date"] not in logged

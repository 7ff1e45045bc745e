"""Stored outcomes feed the next round in the service: a round whose policy asks for the
continuity bonus gets it in its snapshot (`bonus` entries, `continuity` in the
breakdown), and `host_reliability_kpi` puts the hosts' completion rates in its KPIs."""

from __future__ import annotations

from typing import Any

from tests.api.service.helpers import SQLITE_ONLY, wait_round
from tests.api.service.lifecycle.helpers import accept, offers, published, state


@SQLITE_ONLY
def test_recorded_outcomes_feed_the_next_round(client: Any) -> None:
    rid = published(client)
    co = client.keys.auth("coordinator")
    got = offers(client, rid)
    done, early = sorted(got)[:2]
    for v in (done, early):
        accept(client, got[v]["id"])
        state(client, got[v]["id"], "pre_departure")
        state(client, got[v]["id"], "deployed")
    for v, body in (
        (done, {"completed": True, "host_rating": 5}),
        (early, {"completed": False, "ended_early_reason": "host_issue"}),
    ):
        r = client.post(f"/offers/{got[v]['id']}/outcome", json=body, headers=co)
        assert r.status_code == 201, r.text
    policy = {"continuity_bonus": {"host": 150}, "host_reliability_kpi": True}
    r = client.post("/rounds", json={"name": "next", "policy": policy}, headers=co)
    assert r.status_code == 202, r.text
    nxt = str(r.json()["id"])
    assert wait_round(client, nxt, co)["status"] == "done"
    result = client.get(f"/rounds/{nxt}/result", headers=co).json()
    host_of = {"P1": "H01", "P2": "H01", "P3": "H02"}
    home = host_of[got[done]["placement"]]
    frozen = client.get(f"/rounds/{nxt}/document", headers=co).json()
    bonus = {(b["volunteer"], b["placement"], b["points"]) for b in frozen["policy"]["bonus"]}
    assert bonus == {(done, p, 150) for p, h in host_of.items() if h == home}
    at = {a["volunteer"]: a for a in result["assignments"]}
    if done in at and host_of[at[done]["placement"]] == home:
        assert at[done]["breakdown"]["continuity"] == 150
    rates = result["kpis"]["host_reliability"]
    h_done, h_early = home, host_of[got[early]["placement"]]
    if h_done == h_early:
        assert rates == {h_done: 0.5}
    else:
        assert rates == {h_done: 1.0, h_early: 0.0}
    assert result["kpis"]["placed_at_rated_hosts"] == sum(
        1 for a in result["assignments"] if host_of[a["placement"]] in rates
    )
    plain = client.post("/rounds", json={"name": "plain"}, headers=co)
    pid = str(plain.json()["id"])
    assert wait_round(client, pid, co)["status"] == "done"
    kpis = client.get(f"/rounds/{pid}/result", headers=co).json()["kpis"]
    assert "host_reliability" not in kpis

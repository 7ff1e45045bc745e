"""Publication and the published assignment: variants, publishing, what each host then
sees, and a new round starting from the published assignment."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    seed,
    solved_round,
    wait_round,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_variants_publish_and_assignments(client: Any) -> None:
    seed(client)
    co, pl = client.keys.auth("coordinator"), client.keys.auth("planner")
    h1, h2 = client.keys.auth("host1"), client.keys.auth("host2")
    rid = solved_round(client)
    r = client.post(f"/rounds/{rid}/variants", json={"policy": {"mode": "stable"}}, headers=pl)
    assert r.status_code == 202, r.text
    vid = r.json()["id"]
    assert r.json()["parent_id"] == rid and r.json()["source"] == "variant"
    assert wait_round(client, vid, pl)["status"] == "done"
    assert client.get(f"/rounds/{vid}/result", headers=pl).json()["mode"] == "stable"
    bad = client.post(f"/rounds/{rid}/variants", json={"policy": {"seed": -1}}, headers=pl)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "policy.seed"
    assert client.post(f"/rounds/{rid}/publish", headers=pl).status_code == 403
    assert client.get("/assignments", headers=h1).json() == []
    assert client.get("/volunteers", headers=h1).json() == []
    pub = client.post(f"/rounds/{rid}/publish", headers=co)
    assert pub.status_code == 201 and pub.json()["assignments"] == 4
    assert client.post(f"/rounds/{rid}/publish", headers=co).status_code == 409
    assert client.get(f"/rounds/{rid}", headers=co).json()["published"] is True
    mine = client.get("/assignments", headers=h1).json()
    assert {a["placement"] for a in mine} == {"P1", "P2"}
    assert len(client.get("/assignments", headers=co).json()) == 4
    seen = client.get("/volunteers", headers=h1).json()
    assert {v["id"] for v in seen} == {"V1", "V2", "V4"}
    v1 = client.get("/volunteers/V1", headers=h1).json()
    assert set(v1) == {"id", "name", "languages", "skills", "placement", "start", "months"}
    assert v1["name"] == "Ana Lima" and v1["placement"] == "P1"
    # H02 got V3 only: V1 does not exist for it.
    assert client.get("/volunteers/V1", headers=h2).status_code == 404
    assert client.get("/volunteers/V3", headers=h2).status_code == 200
    assert client.delete("/volunteers/V1", headers=h1).status_code == 403
    assert client.get("/volunteers/V1/export", headers=h1).status_code == 403
    # A new round can start from the published assignment.
    r = client.post("/rounds", json={"previous_from_published": True}, headers=co)
    doc = client.get(f"/rounds/{r.json()['id']}/document", headers=co).json()
    assert len(doc["previous"]) == 4

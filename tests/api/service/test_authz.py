"""Object-level authorisation, generated from the OpenAPI document so that new routes
are covered: for every route with an id, a host key of another host gets 404."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.service.helpers import (
    placements,
    volunteers,
    wait_round,
)

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.parametrize("db", ["sqlite"], indirect=True),
]


def _world(c: Any) -> dict[str, str]:
    """H01's objects, which H02 must not see: a placement, a matched volunteer, a round."""
    co, h1 = c.keys.auth("coordinator"), c.keys.auth("host1")
    for p in placements():
        assert c.post("/placements", json=p, headers=co).status_code == 201
    assert c.post("/volunteers", json={"volunteers": volunteers()}, headers=co).status_code == 200
    rid = c.post("/rounds", json={}, headers=co).json()["id"]
    assert wait_round(c, rid, co)["status"] == "done"
    assert c.post(f"/rounds/{rid}/publish", headers=co).status_code == 201
    # V1 is placed at H01's P1: H01 sees V1, H02 must not.
    assert c.get("/volunteers/V1", headers=h1).status_code == 200
    key_id = c.keys.host1.split("_")[1]
    offer_id = c.get("/offers", params={"volunteer": "V1"}, headers=h1).json()[0]["id"]
    backfill_id = c.post(f"/rounds/{rid}/backfills", headers=co).json()["id"]
    # A personal link is its own key (any caller holding it may answer): an unknown one
    # is a 404 whoever asks.
    token = "ol_0123456789abcdef_" + "x" * 32
    scenario = {
        "name": "w",
        "variants": [{"name": "v", "changes": [{"policy": {"weights.priority": 400}}]}],
    }
    run = c.post(f"/rounds/{rid}/scenarios", json=scenario, headers=co)
    assert run.status_code == 202, run.text
    return {
        "placement_id": "P1",
        "volunteer_id": "V1",
        "round_id": rid,
        "host_id": "H01",
        "key_id": key_id,
        "offer_id": str(offer_id),
        "backfill_id": str(backfill_id),
        "token": token,
        "run_id": str(run.json()["id"]),
    }


LIFECYCLE_BODIES = {
    "/reply": {"answer": "accept"},
    "/host": {"decision": "accept"},
    "/state": {"to": "deployed"},
    "/outcome": {"completed": True},
    "/waves": {"volunteers": ["V1"]},
}
"""Valid bodies of the lifecycle routes, so that the answer is about the object."""


def _body_for(path: str, ids: dict[str, str]) -> Any:
    for end, body in LIFECYCLE_BODIES.items():
        if path.endswith(end):
            return body
    if path.startswith("/placements/"):
        return placements()[0]
    if path.startswith("/volunteers/"):
        return volunteers()[0]
    return {}


def test_every_id_route_is_404_for_another_hosts_key(client: Any) -> None:
    ids = _world(client)
    spec = client.get("/openapi.json").json()
    h2 = client.keys.auth("host2")
    checked = []
    for path, ops in spec["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        missing = [p for p in params if p not in ids]
        assert not missing, f"{path}: add an object of H01 for {missing} to this test"
        url = path.format(**ids)
        for method, op in ops.items():
            query = {
                p["name"]: ids.get(p["name"], "V1")
                for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")
            }
            body = _body_for(path, ids) if "requestBody" in op else None
            r = client.request(method.upper(), url, headers=h2, params=query, json=body)
            assert r.status_code == 404, f"{method.upper()} {url}: {r.status_code} {r.text}"
            for secret in ("Ana Lima", "2000-01-02", "needs_assessment"):
                assert secret not in r.text
            checked.append(f"{method.upper()} {path}")
    # The generated list really covers the resources (guards against an empty spec).
    assert {
        "GET /placements/{placement_id}",
        "GET /volunteers/{volunteer_id}",
        "GET /rounds/{round_id}",
        "DELETE /rounds/{round_id}",
        "GET /hosts/{host_id}",
    } <= set(checked)
    assert len(checked) >= 15


def test_creating_another_hosts_placement_id_is_the_404_of_any_unknown_id(
    client: Any,
) -> None:
    ids = _world(client)
    h2 = client.keys.auth("host2")
    mine = {**placements()[0], "host": "H02"}
    taken = client.post("/placements", json=mine, headers=h2)
    unknown = client.get("/placements/P1", headers=h2)
    assert taken.status_code == unknown.status_code == 404
    assert taken.json() == unknown.json()
    assert "H01" not in taken.text and ids["placement_id"] == "P1"
    # Its own taken id is a plain conflict; a free id is created.
    assert client.post("/placements", json={**placements()[2]}, headers=h2).status_code == 409
    free = client.post("/placements", json={**mine, "id": "P9"}, headers=h2)
    assert free.status_code == 201 and free.headers["location"] == "/placements/P9"


def test_host_sees_own_objects_where_the_other_gets_404(client: Any) -> None:
    ids = _world(client)
    h1 = client.keys.auth("host1")
    assert client.get(f"/placements/{ids['placement_id']}", headers=h1).status_code == 200
    assert client.get(f"/hosts/{ids['host_id']}", headers=h1).status_code == 200
    # Rounds hold every host's data: no host key sees any.
    assert client.get(f"/rounds/{ids['round_id']}", headers=h1).status_code == 404

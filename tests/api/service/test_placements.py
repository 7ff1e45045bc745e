"""Placements: a host submits and changes only its own needs; invalid needs name the
record and field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
    placements,
    seed,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_host_submits_and_changes_only_its_own_placements(client: Any) -> None:
    seed(client)
    h1, h2, pl = (client.keys.auth(k) for k in ("host1", "host2", "planner"))
    p1 = placements()[0]
    assert [p["placement"]["id"] for p in client.get("/placements", headers=h1).json()] == [
        "P1",
        "P2",
    ]
    got = client.get("/placements/P1", headers=h1).json()["placement"]
    assert got["needs_assessment"] == {"beneficiaries": 120}
    # Another host's placement does not exist for H02, whatever the verb.
    assert client.get("/placements/P1", headers=h2).status_code == 404
    assert client.put("/placements/P1", json=p1, headers=h2).status_code == 404
    assert client.delete("/placements/P1", headers=h2).status_code == 404
    # Submitting for another host is refused.
    other = {**p1, "id": "P9", "host": "H01"}
    r = client.post("/placements", json=other, headers=h2)
    assert r.status_code == 403 and "H02" in r.json()["detail"]
    assert client.post("/placements", json=p1, headers=h1).status_code == 409
    assert client.post("/placements", json={**p1, "id": "P8"}, headers=pl).status_code == 403
    # Update: the body's id must be the URL's.
    mismatch = client.put("/placements/P1", json={**p1, "id": "P7"}, headers=h1)
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"][0] == {
        "section": "placements",
        "record": "P1",
        "field": "id",
        "message": "the body's id 'P7' is not the URL's",
    }
    r = client.put("/placements/P1", json={**p1, "slots": 3}, headers=h1)
    assert r.status_code == 200 and r.json()["placement"]["slots"] == 3
    r = client.put("/placements/P5", json={**p1, "id": "P5"}, headers=h1)
    assert r.status_code == 201
    assert client.delete("/placements/P5", headers=h1).status_code == 204
    assert client.get("/placements/P5", headers=h1).status_code == 404


@SQLITE_ONLY
def test_invalid_placement_names_record_and_field(client: Any) -> None:
    bad = {**placements()[0], "country": "XX", "slots": 0}
    r = client.post("/placements", json=bad, headers=client.keys.auth("coordinator"))
    assert r.status_code == 422
    fields = {(e["record"], e["field"]) for e in r.json()["errors"]}
    assert fields == {("P1", "country"), ("P1", "slots")}

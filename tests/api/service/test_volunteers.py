"""Volunteers: uploads with every error named, limits and roles; create or replace one."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
    volunteers,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_volunteer_upload_errors(client: Any) -> None:
    co = client.keys.auth("coordinator")
    vols = volunteers()
    vols[2]["languages"] = {"fr": "Z9"}
    r = client.post("/volunteers", json={"volunteers": vols}, headers=co)
    assert r.status_code == 422
    [err] = r.json()["errors"]
    assert (err["section"], err["record"], err["field"]) == ("volunteers", "V3", "languages.fr")
    dup = client.post("/volunteers", json={"volunteers": volunteers()[:1] * 2}, headers=co)
    assert dup.status_code == 422 and dup.json()["errors"][0]["record"] == "V1"
    many = [{**volunteers()[1], "id": f"X{i}"} for i in range(51)]
    r = client.post("/volunteers", json={"volunteers": many}, headers=co)
    assert r.status_code == 422 and "limit is 50" in r.json()["detail"]
    r = client.post("/volunteers", json={"volunteers": []}, headers=client.keys.auth("planner"))
    assert r.status_code == 403
    r = client.post("/volunteers", json={"volunteers": volunteers()}, headers=co)
    assert r.json() == {"created": ["V1", "V2", "V3", "V4", "V5"], "updated": []}
    r = client.post("/volunteers", json={"volunteers": volunteers()[:2]}, headers=co)
    assert r.json() == {"created": [], "updated": ["V1", "V2"]}


@SQLITE_ONLY
def test_volunteer_put_get(client: Any) -> None:
    co, pl = client.keys.auth("coordinator"), client.keys.auth("planner")
    v = volunteers()[0]
    assert client.put("/volunteers/V1", json=v, headers=co).status_code == 201
    assert client.put("/volunteers/V1", json=v, headers=co).status_code == 200
    assert client.put("/volunteers/V1", json=v, headers=pl).status_code == 403
    assert client.put("/volunteers/V2", json=v, headers=co).status_code == 422
    assert client.get("/volunteers/V1", headers=pl).json()["volunteer"]["name"] == "Ana Lima"
    assert client.get("/volunteers/V9", headers=co).status_code == 404

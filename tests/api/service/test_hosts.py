"""Host partners and `/me`: registering hosts, and a host key sees only its own."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_me_names_role_and_host(client: Any) -> None:
    r = client.get("/me", headers=client.keys.auth("host1"))
    assert r.json()["role"] == "host" and r.json()["host_id"] == "H01"


@SQLITE_ONLY
def test_hosts(client: Any) -> None:
    co, h1 = client.keys.auth("coordinator"), client.keys.auth("host1")
    assert client.post("/hosts", json={"id": "H09", "name": "New"}, headers=co).status_code == 201
    assert client.post("/hosts", json={"id": "H09"}, headers=co).status_code == 409
    assert client.post("/hosts", json={"id": "H10"}, headers=h1).status_code == 403
    bad = client.post("/hosts", json={"id": "no spaces"}, headers=co)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "id"
    assert [h["id"] for h in client.get("/hosts", headers=h1).json()] == ["H01"]
    assert {"H01", "H02", "H09"} <= {h["id"] for h in client.get("/hosts", headers=co).json()}
    assert client.get("/hosts/H02", headers=h1).status_code == 404
    assert client.get("/hosts/H01", headers=h1).status_code == 200
    assert client.get("/hosts/H77", headers=co).status_code == 404

"""Erasure and export of a volunteer's personal data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.service.helpers import (
    seed,
    solved_round,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_erasure_and_export(client: Any) -> None:
    seed(client)
    co = client.keys.auth("coordinator")
    rid = solved_round(client, publish=True)
    exported = client.get("/volunteers/V1/export", headers=co).json()
    assert exported["record"]["name"] == "Ana Lima"
    assert exported["rounds"][0]["round"] == rid
    assert exported["rounds"][0]["assignment"]["placement"] == "P1"
    assert exported["published_assignments"][0]["placement"] == "P1"
    r = client.delete("/volunteers/V1", headers=co)
    assert r.status_code == 200
    pseudonym = r.json()["pseudonym"]
    assert r.json()["changed"]["rounds"] == 1 and r.json()["changed"]["results"] == 1
    assert client.get("/volunteers/V1", headers=co).status_code == 404
    assert client.get("/volunteers/V1/export", headers=co).status_code == 404
    assert client.delete("/volunteers/V1", headers=co).status_code == 404
    doc = json.dumps(client.get(f"/rounds/{rid}/document", headers=co).json())
    result = client.get(f"/rounds/{rid}/result", headers=co).json()
    for text in (doc, json.dumps(result)):
        assert '"V1"' not in text and "Ana Lima" not in text and "2000-01-02" not in text
    assert pseudonym in doc
    assert pseudonym in {a["volunteer"] for a in result["assignments"]}
    # Other volunteers are untouched.
    assert "Ben Okafor" in doc
    assert pseudonym in {a["volunteer"] for a in client.get("/assignments", headers=co).json()}

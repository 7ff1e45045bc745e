"""Request plumbing: the body limit (413) and `Idempotency-Key` replays per API key."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
    round_doc,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@SQLITE_ONLY
def test_body_limit_is_413(client: Any) -> None:
    big = {"document": {"volunteers": [], "placements": [], "pad": "x" * 250_000}}
    r = client.post("/rounds", json=big, headers=client.keys.auth("coordinator"))
    assert r.status_code == 413
    assert "larger than 200000 bytes" in r.json()["detail"]


def test_idempotency_key(client: Any) -> None:
    co = client.keys.auth("coordinator")
    body = {"document": round_doc(), "name": "once"}
    first = client.post("/rounds", json=body, headers={**co, "Idempotency-Key": "k1"})
    again = client.post("/rounds", json=body, headers={**co, "Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/rounds", headers=co).json()) == 1
    other = client.post("/rounds", json={**body, "name": "twice"},
                        headers={**co, "Idempotency-Key": "k1"})
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    # Keys are per API key: another caller's k1 is a different key.
    pl = client.post("/rounds", json=body, headers={**client.keys.auth("planner"),
                                                     "Idempotency-Key": "k1"})
    assert pl.status_code == 403
    long_key = client.post("/rounds", json=body, headers={**co, "Idempotency-Key": "k" * 201})
    assert long_key.status_code == 422

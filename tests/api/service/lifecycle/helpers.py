"""Helpers of the lifecycle tests: a small published round with more volunteers than
slots (so that declines can be backfilled), and short-cuts for offers and proposals."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from tests.api.service.helpers import wait_round
from tests.helpers import plc, vol

KEY_ROLES = (("coordinator", None), ("planner", None), ("host", "H01"), ("host", "H02"))
"""The keys these helpers use (role, host), in the order of `helpers.Keys`' fields."""


def pool() -> list[dict[str, Any]]:
    """Six volunteers for four slots; skills make the best fits differ."""
    return [
        vol(
            "V1", name="Ana Lima", birth_date="2000-01-02", nationality="BR", skills={"teaching": 5}
        ),
        vol("V2", name="Ben Okafor", nationality="NG", skills={"teaching": 4, "nursing": 3}),
        vol("V3", name="Chen Wei", nationality="CN", skills={"nursing": 5}),
        vol("V4", name="Dara Kim", nationality="KR", skills={"teaching": 2}),
        vol("V5", name="Eli Sato", nationality="JP", skills={"nursing": 2}),
        vol("V6", name="Fay Ng", nationality="SG", skills={"teaching": 1}),
    ]


def needs() -> list[dict[str, Any]]:
    """Three needs of H01 and H02 with four slots."""
    return [
        plc("P1", host="H01", title="Teacher", slots=2, desired_skills={"teaching": 5}),
        plc("P2", host="H01", title="Nurse", country="KE", desired_skills={"nursing": 5}),
        plc("P3", host="H02", title="Tutor", country="SN", desired_skills={"teaching": 3}),
    ]


def published(c: Any, **policy: Any) -> str:
    """Store the needs and the pool, solve a round of them, publish it; its id."""
    rid = solved(c, **policy)
    assert c.post(f"/rounds/{rid}/publish", headers=c.keys.auth("coordinator")).status_code == 201
    return rid


def solved(c: Any, **policy: Any) -> str:
    """Store the needs and the pool, solve a round of them; its id."""
    co = c.keys.auth("coordinator")
    for p in needs():
        who = "host1" if p["host"] == "H01" else "host2"
        assert c.post("/placements", json=p, headers=c.keys.auth(who)).status_code == 201
    assert c.post("/volunteers", json={"volunteers": pool()}, headers=co).status_code == 200
    body: dict[str, Any] = {"name": "spring"}
    if policy:
        body["policy"] = policy
    r = c.post("/rounds", json=body, headers=co)
    assert r.status_code == 202, r.text
    rid = str(r.json()["id"])
    assert wait_round(c, rid, co)["status"] == "done"
    return rid


def offers(c: Any, rid: str, who: str = "coordinator") -> dict[str, dict[str, Any]]:
    """Volunteer -> their newest offer in the round."""
    r = c.get("/offers", params={"round": rid}, headers=c.keys.auth(who))
    assert r.status_code == 200, r.text
    return {o["volunteer"]: o for o in r.json()}


def lifecycle(c: Any, rid: str) -> dict[str, Any]:
    r = c.get(f"/rounds/{rid}/lifecycle", headers=c.keys.auth("coordinator"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def computed(c: Any, backfill: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    """A proposal a change asked for, once computed (it is answered `pending`)."""
    end = time.monotonic() + timeout
    while backfill["status"] == "pending":
        assert time.monotonic() < end, f"proposal {backfill['id']} still pending"
        time.sleep(0.02)
        r = c.get(backfill["url"], headers=c.keys.auth("coordinator"))
        assert r.status_code == 200, r.text
        backfill = r.json()
    return backfill


def with_proposal(c: Any, out: dict[str, Any]) -> dict[str, Any]:
    """A change's answer with its backfill proposal computed."""
    if out.get("backfill") is not None:
        out = {**out, "backfill": computed(c, out["backfill"])}
    return out


def asked(c: Any, rid: str) -> dict[str, Any]:
    """`POST /rounds/{rid}/backfills`: answered 202 at once with the proposal pending and
    its URL (also the Location); the proposal once computed."""
    r = c.post(f"/rounds/{rid}/backfills", headers=c.keys.auth("coordinator"))
    assert r.status_code == 202, r.text
    out = dict(r.json())
    assert out["status"] == "pending" and out["proposal"] is None, r.text
    assert r.headers["location"] == out["url"]
    return computed(c, out)


def decline(c: Any, offer_id: int, reason: str = "personal") -> dict[str, Any]:
    """Record a decline; its answer, with the proposal it asked for once computed."""
    r = c.post(
        f"/offers/{offer_id}/reply",
        json={"answer": "decline", "reason": reason},
        headers=c.keys.auth("coordinator"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["backfill"]["status"] == "pending", r.text
    return with_proposal(c, dict(r.json()))


def accept(c: Any, offer_id: int) -> dict[str, Any]:
    r = c.post(
        f"/offers/{offer_id}/reply", json={"answer": "accept"}, headers=c.keys.auth("coordinator")
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def state(c: Any, offer_id: int, to: str, **kw: Any) -> dict[str, Any]:
    r = c.post(
        f"/offers/{offer_id}/state", json={"to": to, **kw}, headers=c.keys.auth("coordinator")
    )
    assert r.status_code == 200, r.text
    return with_proposal(c, dict(r.json()))


class Gate:
    """A solver stub that holds every backfill solve until released (the `gate` fixture):
    a rules round's solve, tens of seconds, without spending them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from volmatch.api.service.lifecycle import backfill

        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.calls = 0
        real = backfill.solve

        def slow(*args: Any) -> dict[str, Any]:
            self.calls += 1
            self.started.set()
            assert self.release.wait(30), "the test never released the solver"
            try:
                return real(*args)
            finally:
                self.finished.set()

        monkeypatch.setattr(backfill, "solve", slow)

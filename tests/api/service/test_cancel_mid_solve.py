"""Cancelling through the API stops the solve itself, not only its outcome: a rules
round whose solve would last its 120 s time limit, cancelled a second into it, ends
`cancelled` within seconds (the worker sees the cancel within `cancel_poll_s` and the
solve stops mid-search); so does a scenario run cancelled mid-variant. Either way no
result is stored, the worker is free for the next round at once, and no thread or
child process is left behind."""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

from benchmarks.cancel_bench import SLOW_RULES, slow_rules_document
from tests.api.service.helpers import make_keys, round_doc, settings_for, wait_round

STOPPED_WITHIN_S = 10.0
"""Seconds from the cancel to the job's end that the tests allow: generous for a
machine loaded several times over (about a second is usual: `cancel_poll_s` plus a
CP-SAT poll), far below the 120 s the solve takes uncancelled."""
INTO_THE_SOLVE_S = 1.5
"""Seconds after the job is claimed at which the tests cancel: the 300 volunteers are
prepared in a few hundredths of a second, so the rules' search is running by then."""


def _client(db: Any) -> Any:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    return TestClient(create_app(settings_for(db.url, cancel_poll_s=0.2)))


def _nothing_left_running() -> None:
    names = {t.name for t in threading.enumerate()}
    assert not {"stop-watch", "heartbeat"} & names, names
    assert multiprocessing.active_children() == []


def _free_within(c: Any, co: dict[str, str], since: float) -> float:
    """Post a small round and wait for it: the worker only takes it once it has
    stopped what it was solving. Seconds from `since` until it was solved."""
    small = c.post("/rounds", json={"document": round_doc()}, headers=co).json()["id"]
    assert wait_round(c, small, co, timeout=120)["status"] == "done"
    return time.monotonic() - since


def test_a_rules_round_cancelled_mid_solve_stops_and_says_cancelled(db: Any) -> None:
    with _client(db) as c:
        co = make_keys(c.app).auth("coordinator")
        doc = slow_rules_document(volunteers=300, time_limit_s=120)
        r = c.post("/rounds", json={"document": doc}, headers=co)
        assert r.status_code == 202, r.text
        rid = r.json()["id"]
        end = time.monotonic() + 30
        while c.get(f"/rounds/{rid}", headers=co).json()["status"] != "running":
            assert time.monotonic() < end, "the round was never claimed"
            time.sleep(0.02)
        time.sleep(INTO_THE_SOLVE_S)
        # the heartbeat keeps the progress bar's figures current through the long stage
        progress = c.get(f"/rounds/{rid}", headers=co).json()["progress"]
        assert progress["stage"] == "solve" and progress["elapsed_s"] >= 0.5, progress
        t0 = time.monotonic()
        r = c.delete(f"/rounds/{rid}", headers=co)
        assert r.status_code == 200 and r.json()["status"] == "running", r.text
        state = wait_round(c, rid, co, timeout=120)
        took = time.monotonic() - t0
        assert state["status"] == "cancelled", state
        assert took < STOPPED_WITHIN_S, took
        assert state["progress"]["stage"] == "cancelled"
        assert state["progress"]["elapsed_s"] < INTO_THE_SOLVE_S + STOPPED_WITHIN_S
        assert c.get(f"/rounds/{rid}/result", headers=co).status_code == 409
        assert _free_within(c, co, t0) < STOPPED_WITHIN_S
    _nothing_left_running()


def test_a_scenario_run_cancelled_mid_variant_frees_its_worker(db: Any) -> None:
    """The base (the demo round without rules) solves in a fraction of a second; its
    variants, under rules, would take 120 s each."""
    with _client(db) as c:
        keys = make_keys(c.app)
        co, pl = keys.auth("coordinator"), keys.auth("planner")
        doc = slow_rules_document(volunteers=300)
        doc["policy"] = {k: v for k, v in doc["policy"].items() if k not in SLOW_RULES}
        rid = c.post("/rounds", json={"document": doc}, headers=co).json()["id"]
        assert wait_round(c, rid, co)["status"] == "done"
        scenario = {
            "name": "slow",
            "variants": [
                {"name": f"rules{k}", "changes": [{"policy": {**SLOW_RULES, "time_limit_s": 120}}]}
                for k in range(2)
            ],
        }
        r = c.post(f"/rounds/{rid}/scenarios", json=scenario, headers=pl)
        assert r.status_code == 202, r.text
        url = r.headers["location"]
        end = time.monotonic() + 60
        while c.get(url, headers=pl).json()["progress"]["done"] < 1:
            assert time.monotonic() < end, "the base was never solved"
            time.sleep(0.02)
        time.sleep(INTO_THE_SOLVE_S)
        t0 = time.monotonic()
        r = c.delete(url, headers=pl)
        assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
        assert _free_within(c, co, t0) < STOPPED_WITHIN_S
        body = c.get(url, headers=pl).json()
        assert body["status"] == "cancelled" and body["comparison"] is None
        assert body["progress"]["done"] == 1  # no variant finished: stopped mid-solve
    _nothing_left_running()

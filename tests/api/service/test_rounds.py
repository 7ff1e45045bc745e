"""Rounds, on SQLite and PostgreSQL: launched from the store, a document or a workbook;
progress events, invalid and infeasible rounds, limits, cancel, explanations and
scenarios."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.api.service.helpers import (
    SQLITE_ONLY,
    held_scenario_run,
    make_keys,
    round_doc,
    seed,
    settings_for,
    solved_round,
    volunteers,
    wait_round,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_round_from_store_end_to_end(client: Any) -> None:
    seed(client)
    co, pl = client.keys.auth("coordinator"), client.keys.auth("planner")
    rid = solved_round(client)
    state = client.get(f"/rounds/{rid}", headers=pl).json()
    assert state["source"] == "snapshot" and state["attempts"] == 1
    assert state["progress"]["gap"] == 0.0
    assert state["progress"]["best_objective"] == state["progress"]["bound"]
    result = client.get(f"/rounds/{rid}/result", headers=pl).json()
    assert {a["volunteer"] for a in result["assignments"]} == {"V1", "V2", "V3", "V4"}
    assert result["unmatched_volunteers"][0]["volunteer"] == "V5"
    assert result["unmatched_volunteers"][0]["reasons"]
    # The result matches an independent check of the frozen document.
    from volmatch.matching import validate_result
    from volmatch.models import Result, parse_round

    doc = client.get(f"/rounds/{rid}/document", headers=co).json()
    assert validate_result(parse_round(doc), Result.model_validate(result)) == []
    ex = client.get(f"/rounds/{rid}/explain", params={"volunteer": "V5"}, headers=pl).json()
    assert {r["placement"] for r in ex["pairs"]} == {"P1", "P2", "P3"}
    assert all("training" in r["failed_rules"] for r in ex["pairs"])
    one = client.get(
        f"/rounds/{rid}/explain", params={"volunteer": "V1", "placement": "P1"}, headers=pl
    ).json()
    assert one["pairs"] == [{**one["pairs"][0], "outcome": "assigned here"}]
    assert (
        client.get(f"/rounds/{rid}/explain", params={"volunteer": "V99"}, headers=pl).status_code
        == 404
    )
    assert (
        client.get(
            f"/rounds/{rid}/explain", params={"volunteer": "V1", "placement": "P99"}, headers=pl
        ).status_code
        == 404
    )
    assert client.get(f"/rounds/{rid}/explain", headers=pl).status_code == 422
    listed = client.get("/rounds", headers=pl).json()
    assert [r["id"] for r in listed] == [rid]
    assert client.get("/rounds", params={"status": "queued"}, headers=pl).json() == []
    assert client.get("/rounds", headers=client.keys.auth("host1")).status_code == 403
    assert client.get(f"/rounds/{'0' * 32}", headers=co).status_code == 404


@SQLITE_ONLY
def test_round_events_stream_progress_then_end(client: Any) -> None:
    co = client.keys.auth("coordinator")
    rid = client.post("/rounds", json={"document": round_doc()}, headers=co).json()["id"]
    r = client.get(f"/rounds/{rid}/events", headers=co)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [b for b in r.text.split("\n\n") if b]
    assert events[-1].startswith("event: end")
    last = json.loads(events[-2].split("data: ", 1)[1])
    assert last["status"] == "done" and last["progress"]["stage"] == "done"
    assert client.get(f"/rounds/{'0' * 32}/events", headers=co).status_code == 404


@SQLITE_ONLY
def test_invalid_round_documents_are_422_with_every_error(client: Any) -> None:
    co = client.keys.auth("coordinator")
    doc = round_doc()
    doc["volunteers"][0]["nationality"] = "ZZ"
    doc["placements"][1]["start_latest"] = "2020-01-01"
    doc["policy"] = {"mode": "fastest"}
    r = client.post("/rounds", json={"document": doc}, headers=co)
    assert r.status_code == 422
    got = {(e["section"], e["record"], e["field"]) for e in r.json()["errors"]}
    assert got == {
        ("volunteers", "V1", "nationality"),
        ("placements", "P2", "start_latest"),
        ("policy", "policy", "mode"),
    }
    both = client.post("/rounds", json={"document": doc, "policy": {}}, headers=co)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "document"
    unknown = client.post("/rounds", json={"volunteers": ["V404"]}, headers=co)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["record"] == "V404"
    typo = client.post("/rounds", json={"documnet": {}}, headers=co)
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["message"].startswith("unknown field")
    not_json = client.post(
        "/rounds", content=b"{", headers={**co, "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    for who in ("planner", "host1"):
        r = client.post("/rounds", json={"document": round_doc()}, headers=client.keys.auth(who))
        assert r.status_code == 403


@SQLITE_ONLY
def test_pool_limit_is_422(client: Any) -> None:
    doc = round_doc()
    doc["volunteers"] = [{**volunteers()[1], "id": f"X{i}"} for i in range(51)]
    r = client.post("/rounds", json={"document": doc}, headers=client.keys.auth("coordinator"))
    assert r.status_code == 422
    assert "at most 50" in r.json()["errors"][0]["message"]


@SQLITE_ONLY
def test_infeasible_round_fails_with_conflicts(client: Any) -> None:
    co = client.keys.auth("coordinator")
    doc = round_doc()
    doc["policy"] = {"locked": [{"volunteer": "V5", "placement": "P1"}]}
    rid = client.post("/rounds", json={"document": doc}, headers=co).json()["id"]
    state = wait_round(client, rid, co)
    assert state["status"] == "failed" and state["error"]["kind"] == "infeasible"
    r = client.get(f"/rounds/{rid}/result", headers=co)
    assert r.status_code == 409
    assert r.json()["conflicts"][0]["volunteers"] == ["V5"]
    assert client.post(f"/rounds/{rid}/publish", headers=co).status_code == 409


def test_cancel(db: Any) -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(db.url, embedded_worker=False))
    with TestClient(app) as c:
        keys = make_keys(app)
        co, pl = keys.auth("coordinator"), keys.auth("planner")
        rid = c.post("/rounds", json={"document": round_doc()}, headers=co).json()["id"]
        assert c.get(f"/rounds/{rid}/result", headers=co).status_code == 409
        assert c.delete(f"/rounds/{rid}", headers=pl).status_code == 403
        r = c.delete(f"/rounds/{rid}", headers=co)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert c.delete(f"/rounds/{rid}", headers=co).status_code == 409
        assert c.delete(f"/rounds/{'0' * 32}", headers=co).status_code == 404
        assert c.delete("/rounds/nope", headers=co).status_code == 422
        # A running round is cancelled by its worker, which stores no result.
        rid2 = c.post("/rounds", json={"document": round_doc()}, headers=co).json()["id"]
        from volmatch.api.service.jobs import Worker

        worker = Worker(app.state.db, app.state.settings)
        claim = worker.claim()
        assert claim is not None and claim.round_id == rid2
        r = c.delete(f"/rounds/{rid2}", headers=co)
        assert r.status_code == 200 and r.json()["status"] == "running"
        worker._solve(claim)
        state = c.get(f"/rounds/{rid2}", headers=co).json()
        assert state["status"] == "cancelled"
        assert c.get(f"/rounds/{rid2}/result", headers=co).status_code == 409


@SQLITE_ONLY
def test_round_from_a_workbook_and_result_as_a_workbook(client: Any) -> None:
    from volmatch.api.sheets import read_workbook_bytes, round_workbook_bytes
    from volmatch.models import parse_round

    co = client.keys.auth("coordinator")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    data = round_workbook_bytes(parse_round(round_doc()))
    r = client.post("/rounds", content=data, headers={**co, "content-type": xlsx})
    assert r.status_code == 202, r.text
    assert r.json()["source"] == "xlsx" and r.json()["n_volunteers"] == 5
    rid = r.json()["id"]
    assert wait_round(client, rid, co)["status"] == "done"
    out = client.get(f"/rounds/{rid}/result.xlsx", headers=co)
    assert out.status_code == 200 and out.headers["content-type"] == xlsx
    assert out.content[:2] == b"PK"  # a zip container, i.e. an .xlsx file
    bad = client.post("/rounds", content=b"not a workbook", headers={**co, "content-type": xlsx})
    assert bad.status_code == 422 and "workbook" in bad.json()["errors"][0]["message"]
    r = client.post("/rounds", content=b"a,b", headers={**co, "content-type": "text/csv"})
    assert r.status_code == 415
    assert read_workbook_bytes(data).volunteers[0].id == "V1"


def test_planner_posts_a_scenario_and_gets_the_comparison(client: Any) -> None:
    seed(client)
    pl, h1 = client.keys.auth("planner"), client.keys.auth("host1")
    rid = solved_round(client)
    scenario = {
        "name": "what if",
        "variants": [
            {"name": "urgent-double", "changes": [{"policy": {"weights.priority": 400}}]},
            {"name": "stable", "changes": [{"policy": {"mode": "stable"}}]},
        ],
    }
    r = client.post(f"/rounds/{rid}/scenarios", json=scenario, headers=pl)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["progress"]["total"] == 3
    run_url = r.headers["location"]
    assert run_url == f"/scenario-runs/{r.json()['id']}"
    end = time.monotonic() + 60
    while (body := client.get(run_url, headers=pl).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < end, body
        time.sleep(0.05)
    assert body["status"] == "done" and body["progress"]["done"] == 3, body
    names = [v["name"] for v in body["comparison"]["variants"]]
    assert names == ["urgent-double", "stable"]
    events = client.get(f"{run_url}/events", headers=pl).text
    assert "event: progress" in events and 'event: end\ndata: {"status": "done"}' in events
    assert client.get(run_url, headers=h1).status_code == 404
    bad = client.post(
        f"/rounds/{rid}/scenarios",
        json={
            "name": "x",
            "variants": [{"name": "b", "changes": [{"policy": {"no_such_field": 1}}]}],
        },
        headers=pl,
    )
    assert bad.status_code == 422 and bad.json()["errors"]
    assert client.post(f"/rounds/{rid}/scenarios", json=scenario, headers=h1).status_code == 404


def test_a_scenario_run_is_cancelled_with_delete_as_rounds_are(client: Any) -> None:
    """`DELETE /scenario-runs/{id}` cancels a run a worker holds: `cancelled` at once,
    its event stream ends, a second cancel is 409, a host key gets 404."""
    seed(client)
    pl, co, h1 = (client.keys.auth(k) for k in ("planner", "coordinator", "host1"))
    rid = solved_round(client)
    with client.app.state.db.write() as s:  # held by a worker elsewhere, lease valid
        s.add(held_scenario_run("0f0f0f0f-0000-4000-8000-000000000001", rid, "long", 1, 9))
    url = "/scenario-runs/0f0f0f0f-0000-4000-8000-000000000001"
    assert client.delete(url, headers=h1).status_code == 404
    r = client.delete(url, headers=pl)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["comparison"] is None
    assert client.get(url, headers=co).json()["status"] == "cancelled"
    events = client.get(f"{url}/events", headers=pl).text
    assert 'event: end\ndata: {"status": "cancelled"}' in events
    again = client.delete(url, headers=co)
    assert again.status_code == 409 and "already finished (cancelled)" in again.json()["detail"]
    assert (
        client.delete("/scenario-runs/0f0f0f0f-0000-4000-8000-00000000dead", headers=pl).status_code
        == 404
    )

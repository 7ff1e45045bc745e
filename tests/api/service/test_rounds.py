"""The service's routes, on SQLite and PostgreSQL: the happy paths and every 4xx."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from tests.api.service.helpers import (
    client_fixture,  # noqa: F401 - the `client` fixture
    db_fixture,  # noqa: F401 - the `db` fixture
    placements,
    round_doc,
    volunteers,
    wait_round,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# HTTP behaviour that does not depend on the database runs on SQLite only; the tests of
# storage, jobs, idempotency and erasure run on both backends (keeps the suite fast).
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def _seed(c: Any) -> None:
    """Host H01 and H02 submit their needs, the coordinator uploads the pool."""
    for p in placements():
        who = "host1" if p["host"] == "H01" else "host2"
        r = c.post("/placements", json=p, headers=c.keys.auth(who))
        assert r.status_code == 201, r.text
    r = c.post("/volunteers", json={"volunteers": volunteers()}, headers=c.keys.auth("coordinator"))
    assert r.status_code == 200, r.text


def _solved_round(c: Any, publish: bool = False) -> str:
    co = c.keys.auth("coordinator")
    r = c.post("/rounds", json={"name": "spring"}, headers=co)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert r.headers["location"] == f"/rounds/{rid}"
    assert wait_round(c, rid, co)["status"] == "done"
    if publish:
        assert c.post(f"/rounds/{rid}/publish", headers=co).status_code == 201
    return str(rid)


@SQLITE_ONLY
def test_health_needs_no_key(client: Any) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.headers["x-request-id"]


@SQLITE_ONLY
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer vm_abc_def"}],
)
def test_missing_or_bad_key_is_401(client: Any, headers: dict[str, str]) -> None:
    r = client.get("/placements", headers=headers)
    assert r.status_code == 401
    assert "key" in r.json()["detail"]


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


@SQLITE_ONLY
def test_host_submits_and_changes_only_its_own_placements(client: Any) -> None:
    _seed(client)
    h1, h2, pl = (client.keys.auth(k) for k in ("host1", "host2", "planner"))
    p1 = placements()[0]
    assert [p["placement"]["id"] for p in client.get("/placements", headers=h1).json()] == [
        "P1", "P2"]
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
        "section": "placements", "record": "P1", "field": "id",
        "message": "the body's id 'P7' is not the URL's"}
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


def test_round_from_store_end_to_end(client: Any) -> None:
    _seed(client)
    co, pl = client.keys.auth("coordinator"), client.keys.auth("planner")
    rid = _solved_round(client)
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
    one = client.get(f"/rounds/{rid}/explain", params={"volunteer": "V1", "placement": "P1"},
                     headers=pl).json()
    assert one["pairs"] == [{**one["pairs"][0], "outcome": "assigned here"}]
    assert client.get(f"/rounds/{rid}/explain", params={"volunteer": "V99"},
                      headers=pl).status_code == 404
    assert client.get(f"/rounds/{rid}/explain", params={"volunteer": "V1", "placement": "P99"},
                      headers=pl).status_code == 404
    assert client.get(f"/rounds/{rid}/explain", headers=pl).status_code == 422
    listed = client.get("/rounds", headers=pl).json()
    assert [r["id"] for r in listed] == [rid]
    assert client.get("/rounds", params={"status": "queued"}, headers=pl).json() == []
    assert client.get("/rounds", headers=client.keys.auth("host1")).status_code == 403
    assert client.get("/rounds/nope", headers=co).status_code == 404


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
    assert client.get("/rounds/nope/events", headers=co).status_code == 404


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
    assert got == {("volunteers", "V1", "nationality"), ("placements", "P2", "start_latest"),
                   ("policy", "policy", "mode")}
    both = client.post("/rounds", json={"document": doc, "policy": {}}, headers=co)
    assert both.status_code == 422 and both.json()["errors"][0]["field"] == "document"
    unknown = client.post("/rounds", json={"volunteers": ["V404"]}, headers=co)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["record"] == "V404"
    typo = client.post("/rounds", json={"documnet": {}}, headers=co)
    assert typo.status_code == 422
    assert typo.json()["errors"][0]["message"].startswith("unknown field")
    not_json = client.post("/rounds", content=b"{", headers={**co, "content-type":
                                                            "application/json"})
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
def test_body_limit_is_413(client: Any) -> None:
    big = {"document": {"volunteers": [], "placements": [], "pad": "x" * 250_000}}
    r = client.post("/rounds", json=big, headers=client.keys.auth("coordinator"))
    assert r.status_code == 413
    assert "larger than 200000 bytes" in r.json()["detail"]


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


def test_variants_publish_and_assignments(client: Any) -> None:
    _seed(client)
    co, pl = client.keys.auth("coordinator"), client.keys.auth("planner")
    h1, h2 = client.keys.auth("host1"), client.keys.auth("host2")
    rid = _solved_round(client)
    r = client.post(f"/rounds/{rid}/variants", json={"policy": {"mode": "stable"}}, headers=pl)
    assert r.status_code == 202, r.text
    vid = r.json()["id"]
    assert r.json()["parent_id"] == rid and r.json()["source"] == "variant"
    assert wait_round(client, vid, pl)["status"] == "done"
    assert client.get(f"/rounds/{vid}/result", headers=pl).json()["mode"] == "stable"
    bad = client.post(f"/rounds/{rid}/variants", json={"policy": {"seed": -1}}, headers=pl)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "seed"
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


def test_cancel(db: Any) -> None:
    from fastapi.testclient import TestClient

    from tests.api.service.helpers import make_keys, settings_for
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
        assert c.delete("/rounds/nope", headers=co).status_code == 404
        # A running round is cancelled by its worker, which stores no result.
        rid2 = c.post("/rounds", json={"document": round_doc()}, headers=co).json()["id"]
        from volmatch.api.service.jobs import Worker

        worker = Worker(app.state.sessions, app.state.settings)
        claim = worker.claim()
        assert claim is not None and claim.round_id == rid2
        r = c.delete(f"/rounds/{rid2}", headers=co)
        assert r.status_code == 200 and r.json()["status"] == "running"
        worker._solve(claim)
        state = c.get(f"/rounds/{rid2}", headers=co).json()
        assert state["status"] == "cancelled"
        assert c.get(f"/rounds/{rid2}/result", headers=co).status_code == 409


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


def test_erasure_and_export(client: Any) -> None:
    _seed(client)
    co = client.keys.auth("coordinator")
    rid = _solved_round(client, publish=True)
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


@SQLITE_ONLY
def test_logs_carry_ids_not_personal_data(client: Any) -> None:
    from volmatch.api.service.logs import LOGGER, JsonFormatter

    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER)
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        _seed(client)
        co = client.keys.auth("coordinator")
        rid = _solved_round(client)
        client.get("/volunteers/V1/export", headers={**co, "X-Request-ID": "req-123"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    text = buf.getvalue()
    for v in volunteers():
        assert v.get("name", "~") not in text
    assert "2000-01-02" not in text
    assert client.keys.coordinator.split("_", 2)[2] not in text
    assert any(x.get("request_id") == "req-123" and x["event"] == "request" for x in lines)
    assert any(x.get("job_id") == rid and x["event"] == "job finished" for x in lines)


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
    _seed(client)
    pl, h1 = client.keys.auth("planner"), client.keys.auth("host1")
    rid = _solved_round(client)
    scenario = {
        "name": "what if",
        "variants": [
            {"name": "urgent-double", "changes": [{"policy": {"weights.priority": 400}}]},
            {"name": "stable", "changes": [{"policy": {"mode": "stable"}}]},
        ],
    }
    r = client.post(f"/rounds/{rid}/scenarios", json=scenario, headers=pl)
    assert r.status_code == 200, r.text
    body = r.json()
    names = [v["name"] for v in body["variants"]]
    assert names == ["urgent-double", "stable"]
    bad = client.post(f"/rounds/{rid}/scenarios", json={"name": "x", "variants": [
        {"name": "b", "changes": [{"policy": {"no_such_field": 1}}]}]}, headers=pl)
    assert bad.status_code == 422 and bad.json()["errors"]
    assert client.post(f"/rounds/{rid}/scenarios", json=scenario, headers=h1).status_code == 404

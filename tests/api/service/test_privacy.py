"""Erasure and export of a volunteer's personal data, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from sqlalchemy import select

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
    from volmatch.api.service.result_pairs import explain_arrays
    from volmatch.api.service.tables import ResultPairsRow

    with client.app.state.db.read() as s:  # the round's pairs and scores, stored with it
        row = s.get(ResultPairsRow, rid)
        assert row is not None
        # with the ids an explanation names (`result_pairs.ExplainArrays`)
        assert "V1" in explain_arrays(row.data).volunteer_ids  # type: ignore[union-attr]
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
    # the erased volunteer's id and scores are not kept beside the round either
    with client.app.state.db.read() as s:
        assert s.get(ResultPairsRow, rid) is None
        assert all(b"V1" not in zlib.decompress(x) for x in s.scalars(select(ResultPairsRow.data)))


def test_erasure_while_the_round_is_solving_reaches_its_result(db: Any) -> None:
    """The worker has read the round (with V1) and is solving when V1 is erased; the
    result it then stores names V1's pseudonym, not V1."""
    import threading
    import time

    from fastapi.testclient import TestClient

    from tests.api.service.helpers import make_keys, round_doc, settings_for
    from volmatch.api.service import create_app
    from volmatch.api.service.jobs import Worker

    app = create_app(settings_for(db.url, embedded_worker=False, worker_test_delay_s=1.0))
    with TestClient(app) as c:
        keys = make_keys(app)
        co = keys.auth("coordinator")
        assert (
            c.post(
                "/volunteers", json={"volunteers": round_doc()["volunteers"]}, headers=co
            ).status_code
            == 200
        )
        for p in round_doc()["placements"]:
            assert c.post("/placements", json=p, headers=co).status_code == 201
        rid = c.post("/rounds", json={"name": "in flight"}, headers=co).json()["id"]
        handed: list[Any] = []
        worker = Worker(
            app.state.db, app.state.settings, "W", on_stored=lambda _, s: handed.append(s)
        )
        claim = worker.claim()
        assert claim is not None
        solving = threading.Thread(target=worker._solve, args=(claim,))
        solving.start()
        end = time.monotonic() + 20
        while c.get(f"/rounds/{rid}", headers=co).json()["progress"].get("stage") != "solve":
            assert time.monotonic() < end
            time.sleep(0.02)
        erased = c.delete("/volunteers/V1", headers=co)  # while the worker sleeps in "solve"
        assert erased.status_code == 200
        solving.join(timeout=30)
        assert c.get(f"/rounds/{rid}", headers=co).json()["status"] == "done"
        # the round the worker solved names V1: not handed over to be kept warm, and
        # its pairs and scores are not stored beside the result
        assert handed == [None]
        from volmatch.api.service.tables import ResultPairsRow

        with app.state.db.read() as s:
            assert s.get(ResultPairsRow, rid) is None
        result = c.get(f"/rounds/{rid}/result", headers=co).json()
        text = json.dumps(result)
        assert '"V1"' not in text and "Ana Lima" not in text
        pseudonym = erased.json()["pseudonym"]
        assert pseudonym in {a["volunteer"] for a in result["assignments"]}
        # the paging view stored beside the result is made from the pseudonymised one
        from volmatch.api.service.result_pages import ResultView
        from volmatch.api.service.tables import ResultViewRow

        with app.state.db.read() as s:
            stored = s.get(ResultViewRow, rid)
            assert stored is not None
            view = ResultView.from_bytes(rid, stored.data)
        assert view is not None
        assert "Ana Lima" not in view.names.values() and "V1" not in view.names
        assert json.dumps(view.assignments + view.unmatched) == json.dumps(
            result["assignments"] + result["unmatched_volunteers"]
        )

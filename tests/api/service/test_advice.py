"""Advice over HTTP: feasibility of drafts and stored needs (hosts: their own only),
recommendations for coordinators, 404/409/422 as the API answers them, and the warm
round reused between requests."""

from __future__ import annotations

from typing import Any

from tests.api.service.helpers import SQLITE_ONLY, seed, solved_round
from tests.helpers import plc


@SQLITE_ONLY
def test_feasibility_and_recommendations(client: Any) -> None:
    seed(client)
    co, h1 = client.keys.auth("coordinator"), client.keys.auth("host1")
    draft = plc("D1", host="H01", required_languages={"fr": "C1"})
    assert client.post("/placements/feasibility", json=draft, headers=h1).status_code == 409
    rid = solved_round(client)
    r = client.post("/placements/feasibility", json=draft, headers=h1)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["round"] == rid and doc["eligible"] == 0
    assert doc["changes"][0]["text"] == "French at B2 instead of C1: +1"
    assert "recommendations" not in doc and "V3" not in r.text
    stored = client.get("/placements/P1/feasibility", headers=h1)
    assert stored.status_code == 200 and stored.json()["in_round"] is True
    recs = client.get("/placements/P1/recommendations?top=1", headers=co).json()
    assert [x["regret"] for x in recs["recommendations"]] == [0]
    assert set(recs["recommendations"][0]) == {"volunteer", "score", "breakdown", "regret"}
    mine = client.get("/volunteers/V3/recommendations", headers=co)
    assert mine.status_code == 200 and mine.json()["volunteer"] == "V3"
    warm = client.app.state.warm
    assert len(warm._bases) == 1  # one build served every request


@SQLITE_ONLY
def test_a_later_round_cancelled_or_failed_leaves_advice_on_the_last_solved_one(
    client: Any,
) -> None:
    """Such a round never gets a result: advice (and the host pages' counts) keep
    using the round before it instead of answering 409 until another round is solved."""
    from volmatch.api.service.tables import Job, RoundRow

    seed(client)
    rid = solved_round(client)
    h1 = client.keys.auth("host1")
    with client.app.state.db.write() as s:
        for status in ("cancelled", "failed"):
            s.add(
                RoundRow(
                    id=f"later-{status}", name=status, source="pool", created_by="k",
                    n_volunteers=3, n_placements=3, document={},
                )
            )  # fmt: skip
            s.flush()
            s.add(Job(round_id=f"later-{status}", status=status, progress={}, attempts=1))
    r = client.post("/placements/feasibility", json=plc("D1", host="H01"), headers=h1)
    assert r.status_code == 200, r.text
    assert r.json()["round"] == rid


@SQLITE_ONLY
def test_advice_refusals(client: Any) -> None:
    seed(client)
    solved_round(client)
    co, h1 = client.keys.auth("coordinator"), client.keys.auth("host1")
    other = plc("D2", host="H02")
    assert client.post("/placements/feasibility", json=other, headers=h1).status_code == 404
    assert client.get("/placements/P3/feasibility", headers=h1).status_code == 404
    assert client.get("/placements/P9/feasibility", headers=co).status_code == 404
    assert client.get("/placements/P1/recommendations", headers=h1).status_code == 404
    pl = client.keys.auth("planner")
    assert client.get("/volunteers/V1/recommendations", headers=pl).status_code == 403
    assert client.get("/volunteers/V9/recommendations", headers=co).status_code == 404
    bad = client.post(
        "/placements/feasibility", json=plc("D3", host="H01", country="XX"), headers=h1
    )
    assert bad.status_code == 422 and "country" in bad.text


@SQLITE_ONLY
def test_ready_feasibilities_are_each_needs_live_feasibility(client: Any) -> None:
    """The host's needs list asks for all its needs at once, without waiting for a build:
    None until the pool (then the round) is built in the background, then the same
    answers as one need at a time, against the pool alone and then against a solved
    round."""
    import time

    from volmatch.api.service.advice import live_feasibility, ready_feasibilities
    from volmatch.api.service.auth import Principal
    from volmatch.models import Placement

    app = client.app
    app.state.warm.stop(timeout=30)  # the start's own build, on the empty pool
    app.state.pool_cache.stop(timeout=30)
    seed(client)
    who = Principal("k", "host", "H01")
    drafts = [
        Placement.model_validate(plc(i, host="H01", required_languages=langs))
        for i, langs in (("D1", {"fr": "C1"}), ("D2", {}), ("D3", {"en": "B1"}))
    ]
    for after_a_round in (False, True):
        if after_a_round:
            app.state.warm.clear()  # built when the worker stored the result: again
            solved_round(client)
            app.state.warm.stop(timeout=30)
            app.state.warm.clear()
        ask = (app.state.db, app.state.warm, app.state.pool_cache, drafts, who)
        with app.state.db.read() as s:
            assert ready_feasibilities(s, *ask) is None  # not built: its build started
        deadline = time.monotonic() + 60
        while True:
            with app.state.db.read() as s:
                found = ready_feasibilities(s, *ask)
            if found is not None:
                break
            assert time.monotonic() < deadline, "never built"
            time.sleep(0.02)
        with app.state.db.read() as s:
            each = [
                live_feasibility(s, app.state.warm, app.state.pool_cache, d, who) for d in drafts
            ]
        assert found == each
    assert each[0]["round"] is not None


@SQLITE_ONLY
def test_a_stored_result_is_warmed_without_a_request(client: Any) -> None:
    """The embedded worker hands a solved round to the background warm-up: its advice base
    is built before anyone asks, and the first request reuses it."""
    import time

    seed(client)
    rid = solved_round(client)
    warm = client.app.state.warm
    deadline = time.monotonic() + 20
    while not warm._bases and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [key[0] for key in warm._bases] == [rid]
    built = next(iter(warm._bases.values()))
    co = client.keys.auth("coordinator")
    assert client.get("/placements/P1/recommendations", headers=co).status_code == 200
    assert list(warm._bases.values()) == [built]


def test_a_service_without_a_worker_warms_each_new_result(tmp_path: Any) -> None:
    """Rounds solved by another process (`volmatch worker`): the service sees each newly
    stored result and warms its round, so that its first Explain or advice finds it."""
    import threading
    import time
    import uuid

    from tests.api.service.helpers import round_doc
    from volmatch.api.service.advice import watch_results
    from volmatch.api.service.db import migrate, open_database
    from volmatch.api.service.tables import Job, ResultRow, RoundRow
    from volmatch.api.service.warm import WarmRounds
    from volmatch.matching import solve_round
    from volmatch.models import parse_round

    db = open_database(f"sqlite:///{tmp_path / 'watch.db'}")
    migrate(db)
    warm, stop = WarmRounds(), threading.Event()
    watcher = threading.Thread(target=watch_results, args=(db, warm, stop, 0.02))
    watcher.start()
    try:
        doc = round_doc()
        result = solve_round(parse_round(doc)).model_dump(mode="json")
        for _ in range(2):
            rid = uuid.uuid4().hex
            with db.write() as s:
                s.add(
                    RoundRow(
                        id=rid,
                        source="document",
                        created_by="k",
                        n_volunteers=len(doc["volunteers"]),
                        n_placements=len(doc["placements"]),
                        document=doc,
                    )
                )
                s.flush()
                s.add(Job(round_id=rid, status="done", progress={}, attempts=1))
                s.add(ResultRow(round_id=rid, result=result, worker="elsewhere"))
            end = time.monotonic() + 30
            while not any(key[0] == rid for key in list(warm._bases)):
                assert time.monotonic() < end, "the new result's round was not warmed"
                time.sleep(0.02)
    finally:
        stop.set()
        watcher.join(timeout=10)
        warm.stop(timeout=10)
        db.dispose()
    assert warm.builds == 2


@SQLITE_ONLY
def test_my_needs_leaves_a_pending_background_build_be(client: Any) -> None:
    """A page that finds the round not built does not replace a build already asked for
    (the worker's hand-over of what it solved is one): it asks only when none waits."""
    import threading
    import time

    from volmatch.api.service.advice import ready_feasibilities
    from volmatch.api.service.auth import Principal
    from volmatch.models import Placement

    seed(client)
    solved_round(client)
    app = client.app
    warm = app.state.warm
    warm.stop(timeout=30)
    warm.clear()
    busy, release, ran = threading.Event(), threading.Event(), threading.Event()

    def holding() -> None:
        busy.set()
        release.wait(30)

    warm.prewarm(holding)
    assert busy.wait(30)
    warm.prewarm(ran.set)  # asked first, not started: the one to keep
    assert warm.pending()
    drafts = [Placement.model_validate(plc("D1", host="H01"))]
    ask = (app.state.db, warm, app.state.pool_cache, drafts, Principal("k", "host", "H01"))
    with app.state.db.read() as s:
        assert ready_feasibilities(s, *ask) is None
    release.set()
    assert ran.wait(30)  # not replaced
    warm.stop(timeout=30)
    builds = warm.builds
    with app.state.db.read() as s:
        assert ready_feasibilities(s, *ask) is None  # nothing waits now: it asks
    deadline = time.monotonic() + 60
    while warm.builds == builds:
        assert time.monotonic() < deadline, "the page's build never ran"
        time.sleep(0.02)
    with app.state.db.read() as s:
        assert ready_feasibilities(s, *ask) is not None


def test_a_stored_round_is_built_from_its_text_and_its_stored_pairs(client: Any) -> None:
    """On SQLite and PostgreSQL: the round read back as JSON text and parsed in one pass
    is the round of its stored document, and the pairs stored with its result rebuild
    the prepared round exactly."""
    import numpy as np
    from sqlalchemy import select

    from volmatch.api.service.advice import _stored_pairs, _stored_round
    from volmatch.api.service.tables import RoundRow
    from volmatch.matching import prepare
    from volmatch.models import parse_round

    seed(client)
    rid = solved_round(client)
    with client.app.state.db.read() as s:
        document = s.scalar(select(RoundRow.document).where(RoundRow.id == rid))
        r = _stored_round(s, rid)
        stored = _stored_pairs(s, rid)
    assert r == parse_round(document)
    assert stored is not None
    prep, chosen, status, mode = stored
    again = prepare(parse_round(document))
    assert (status, mode) == ("optimal", "optimal")
    for f in ("v", "p", "start", "months"):
        mine, theirs = getattr(prep.pairs, f), getattr(again.pairs, f)
        assert mine.dtype == theirs.dtype and np.array_equal(mine, theirs)
    assert np.array_equal(prep.scores.total, again.scores.total)
    assert list(prep.scores.components) == list(again.scores.components)
    for k, v in again.scores.components.items():
        assert np.array_equal(prep.scores.components[k], v)
    result = client.get(f"/rounds/{rid}/result", headers=client.keys.auth("coordinator")).json()
    c = prep.compiled
    pairs = {(c.volunteer_ids[prep.pairs.v[i]], c.placement_ids[prep.pairs.p[i]]) for i in chosen}
    assert pairs == {(a["volunteer"], a["placement"]) for a in result["assignments"]}

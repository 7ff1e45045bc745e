"""A backfill proposal is computed after the change that asked for it has committed,
outside its write transaction: a decline, a withdrawn need, a new wave or `POST
.../backfills` is visible at once and its answer names the proposal, `pending`, with its
URL; other writes go through while the engine solves (a slow solver stub); a server
killed (SIGKILL) in between keeps the decline and computes the proposal when it starts
again; a proposal the round outran while solving is solved again; one the engine
refuses is `failed` with the reason; a volunteer erased while it solves is pseudonymised
in it. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.service.helpers import SQLITE_ONLY, Db, Keys, Server, store
from tests.api.service.lifecycle.helpers import (
    KEY_ROLES,
    Gate,
    computed,
    lifecycle,
    needs,
    offers,
    published,
    solved,
)
from tests.helpers import vol

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _decline(c: Any, offer_id: int) -> dict[str, Any]:
    r = c.post(
        f"/offers/{offer_id}/reply",
        json={"answer": "decline", "reason": "personal"},
        headers=c.keys.auth("coordinator"),
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_decline_stands_before_its_proposal_and_writes_pass_while_it_solves(
    client: Any, gate: Gate
) -> None:
    rid = published(client)
    got = offers(client, rid)
    co, h1 = client.keys.auth("coordinator"), client.keys.auth("host1")
    t0 = time.monotonic()
    out = _decline(client, got["V1"]["id"])
    answered_s = time.monotonic() - t0
    bf = out["backfill"]
    assert out["offer"]["state"] == "declined"
    assert bf["status"] == "pending" and bf["proposal"] is None
    assert bf["url"] == f"/rounds/{rid}/backfills/{bf['id']}"
    assert gate.started.wait(10), "the proposal was not started after the commit"
    # The decline is committed and visible while the proposal does not exist yet.
    assert offers(client, rid)["V1"]["state"] == "declined"
    assert client.get(bf["url"], headers=co).json()["status"] == "pending"
    # Writes are not queued behind the engine: a host's need, another reply.
    t0 = time.monotonic()
    p1 = next(p for p in needs() if p["id"] == "P1")
    r = client.put("/placements/P1", json={**p1, "title": "Head teacher"}, headers=h1)
    assert r.status_code == 200, r.text
    other = next(v for v in got if v != "V1")
    r = client.post(f"/offers/{got[other]['id']}/reply", json={"answer": "accept"}, headers=co)
    assert r.status_code == 200, r.text
    assert time.monotonic() - t0 < 5, "writes waited for the solver"
    assert answered_s < 5
    gate.release.set()
    # The accept moved the round on while the engine solved: it solves again, at the
    # round's version after the accept, so the proposal can be confirmed.
    done = computed(client, bf)
    assert done["status"] == "open" and done["proposal"]["declined"] == ["V1"]
    assert other in done["proposal"]["frozen"]
    assert gate.calls >= 2
    r = client.post(f"{bf['url']}/confirm", headers=co)
    assert r.status_code == 200, r.text


def _ask(c: Any, rid: str, kind: str) -> dict[str, Any]:
    """Ask for a proposal the way `kind` does; its answer's proposal (`pending`), whose
    URL is also the answer's Location."""
    co = c.keys.auth("coordinator")
    if kind == "asked":
        r = c.post(f"/rounds/{rid}/backfills", headers=co)
        assert r.status_code == 202, r.text
        bf = r.json()
    elif kind == "withdrawn":
        r = c.post(f"/rounds/{rid}/placements/P3/withdraw", json={}, headers=c.keys.auth("host2"))
        assert r.status_code == 201, r.text
        bf = r.json()
    else:
        late = vol("V9", name="Gil Late", nationality="FR", skills={"teaching": 5})
        assert c.post("/volunteers", json={"volunteers": [late]}, headers=co).status_code == 200
        r = c.post(f"/rounds/{rid}/waves", json={"volunteers": ["V9"]}, headers=co)
        assert r.status_code == 201, r.text
        assert r.json()["wave"]["number"] == 2
        bf = r.json()["backfill"]
    assert r.headers["location"] == bf["url"] == f"/rounds/{rid}/backfills/{bf['id']}"
    return dict(bf)


@pytest.mark.parametrize("kind", ["asked", "withdrawn", "wave"])
def test_a_proposal_asked_for_is_answered_pending_and_writes_pass_while_it_solves(
    client: Any, gate: Gate, kind: str
) -> None:
    rid = published(client)
    bf = _ask(client, rid, kind)
    assert bf["status"] == "pending" and bf["proposal"] is None
    assert bf["trigger"]["kind"] == kind
    assert gate.started.wait(10), "the proposal was not started after the commit"
    # While the engine solves (held: a rules round's tens of seconds), a host's PUT of a
    # placement is answered, and committed: nothing holds the writer.
    p1 = next(p for p in needs() if p["id"] == "P1")
    r = client.put(
        "/placements/P1", json={**p1, "title": "Head teacher"}, headers=client.keys.auth("host1")
    )
    assert r.status_code == 200, r.text
    assert not gate.finished.is_set(), "the PUT was answered only after the solve"
    r = client.get("/placements/P1", headers=client.keys.auth("host1"))
    assert r.json()["placement"]["title"] == "Head teacher"
    gate.release.set()
    done = computed(client, bf)
    assert done["status"] == "open" and done["proposal"] is not None
    if kind == "withdrawn":
        assert done["proposal"]["withdrawn"] == ["P3"]
    if kind == "wave":
        assert done["wave"] == 2
    r = client.post(f"{bf['url']}/confirm", headers=client.keys.auth("coordinator"))
    assert r.status_code == 200, r.text


def test_a_refused_proposal_is_failed_with_the_reason(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from volmatch.api.service.lifecycle import backfill
    from volmatch.models import ErrorItem
    from volmatch.models.lifecycle import InvalidBackfill

    def refuse(*_: Any) -> dict[str, Any]:
        raise InvalidBackfill([ErrorItem("offers", "V1", "placement", "no such placement")])

    rid = published(client)
    got = offers(client, rid)
    monkeypatch.setattr(backfill, "solve", refuse)
    done = computed(client, _decline(client, got["V1"]["id"])["backfill"])
    assert done["status"] == "failed" and done["proposal"] is None
    assert "no longer fit" in done["error"]
    assert offers(client, rid)["V1"]["state"] == "declined"
    r = client.post(f"{done['url']}/confirm", headers=client.keys.auth("coordinator"))
    assert r.status_code == 409


def test_a_server_killed_before_the_proposal_computes_it_when_it_starts_again(
    db: Db, tmp_path: Path
) -> None:
    from volmatch.api.service.auth import create_key

    database, _ = store(db.url)
    with database.write() as s:
        keys = Keys(
            coordinator=create_key(s, "coordinator")[1],
            planner=create_key(s, "planner")[1],
            host1=create_key(s, "host", "H01")[1],
            host2=create_key(s, "host", "H02")[1],
        )
    database.dispose()
    server = Server(db.url, tmp_path, env={"VOLMATCH_BACKFILL_TEST_DELAY_S": "60"})
    try:
        with httpx.Client(base_url=server.base, timeout=30) as c:
            c.keys = keys  # type: ignore[attr-defined]
            rid = published(c)
            got = offers(c, rid)
            bf = _decline(c, got["V2"]["id"])["backfill"]
            assert bf["status"] == "pending"
            server.kill()  # the runner is still in its test delay
            server.env.pop("VOLMATCH_BACKFILL_TEST_DELAY_S")
            server.start()
            assert offers(c, rid)["V2"]["state"] == "declined"
            done = computed(c, bf)
            assert done["status"] == "open" and done["proposal"]["declined"] == ["V2"]
    finally:
        server.stop()


def test_a_volunteer_erased_while_the_proposal_solves_is_not_in_it(client: Any, gate: Gate) -> None:
    rid = published(client)
    got = offers(client, rid)
    co = client.keys.auth("coordinator")
    bf = _decline(client, got["V1"]["id"])["backfill"]
    assert gate.started.wait(10)
    # V2 stands in the round (frozen or movable): erased while the engine solves.
    r = client.delete("/volunteers/V2", headers=co)
    assert r.status_code == 200, r.text
    gate.release.set()
    done = computed(client, bf)
    assert done["status"] == "open"
    text = str(done["proposal"])
    assert "V2" not in text and "Ben Okafor" not in text
    assert "erased-" in text


def test_a_publication_computes_its_reserve_lists_before_its_write_locks(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reserve lists prepare the round (seconds at 50,000 volunteers): a PUT that
    comes in meanwhile is answered before they are done."""
    from volmatch.api.service.lifecycle import engine

    rid = solved(client)
    published_now = _answered_while_held(
        client,
        monkeypatch,
        (engine, "reserves"),
        lambda: client.post(f"/rounds/{rid}/publish", headers=client.keys.auth("coordinator")),
    )
    assert published_now.status_code == 201, published_now.text
    assert lifecycle(client, rid)["reserves"]


@SQLITE_ONLY
def test_every_acknowledged_backfill_write_survives_a_kill(db: Db, tmp_path: Path) -> None:
    """A 2xx means committed, for the backfill writes too: the server is killed (SIGKILL)
    the moment each answer is in, started again, and the write is there; a proposal
    asked for and not computed yet is computed by the restarted server's sweep. (SQLite
    only: four restarts; `test_durability.py` kills after the other writes on both.)"""
    from volmatch.api.service.auth import create_key

    database, _ = store(db.url)
    with database.write() as s:
        keys = Keys(*(create_key(s, r, h)[1] for r, h in KEY_ROLES))
    database.dispose()
    server = Server(db.url, tmp_path)
    try:
        with httpx.Client(base_url=server.base, timeout=30) as c:
            c.keys = keys  # type: ignore[attr-defined]
            co = keys.auth("coordinator")

            def acked(path: str, status: int, **kw: Any) -> dict[str, Any]:
                r = c.post(path, headers=kw.pop("headers", co), **kw)
                assert r.status_code == status, r.text
                server.kill()
                server.start()
                return dict(r.json())

            rid = published(c)
            asked = acked(f"/rounds/{rid}/backfills", 202)
            assert computed(c, asked)["status"] == "open"
            confirmed = acked(f"{asked['url']}/confirm", 200)
            assert c.get(asked["url"], headers=co).json()["status"] == "confirmed"
            made = offers(c, rid)
            for n in confirmed["proposal"]["new_offers"]:
                assert made[n["volunteer"]]["placement"] == n["placement"]
            gone = acked(f"/rounds/{rid}/placements/P3/withdraw", 201, json={})
            assert c.get(f"/rounds/{rid}/lifecycle", headers=co).json()["withdrawn"] == ["P3"]
            assert computed(c, gone)["status"] == "open"
            late = vol("V9", name="Gil Late", nationality="FR", skills={"teaching": 5})
            assert c.post("/volunteers", json={"volunteers": [late]}, headers=co).status_code == 200
            wave = acked(f"/rounds/{rid}/waves", 201, json={"volunteers": ["V9"]})
            waves = c.get(f"/rounds/{rid}/waves", headers=co).json()
            assert [w["number"] for w in waves] == [1, 2]
            assert computed(c, wave["backfill"])["status"] == "open"
    finally:
        server.stop()


@SQLITE_ONLY
def test_a_proposal_over_the_pair_limit_fails_with_the_reason(client: Any) -> None:
    """A round solved under a higher pair limit: its backfill proposal is `failed`
    naming the pairs and the limit, not retried by every sweep."""
    from volmatch.matching.pair_limit import set_pair_limit

    rid = published(client)
    old = set_pair_limit(1)
    try:
        r = client.post(f"/rounds/{rid}/backfills", headers=client.keys.auth("coordinator"))
        assert r.status_code == 202, r.text
        out = computed(client, r.json())
    finally:
        set_pair_limit(old)
    assert out["status"] == "failed", out
    assert "over the limit of 1" in out["error"] and "VOLMATCH_MAX_ROUND_PAIRS" in out["error"]


def test_a_wave_builds_its_document_before_its_write_locks(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Adding a wave's records parses and checks the whole round (seconds at 50,000
    volunteers): a PUT that comes in meanwhile is answered before that is done; a
    document built before an erasure is built again inside the write, so the erased
    volunteer's record does not come back."""
    from volmatch.api.service.lifecycle import backfill
    from volmatch.api.service.privacy import erase_volunteer
    from volmatch.matching import lifecycle as engine_lifecycle

    rid = published(client)
    co = client.keys.auth("coordinator")
    late = [
        vol("V9", name="Gil Late", nationality="FR", skills={"teaching": 5}),
        vol("V8", name="Hal Late", nationality="FR", skills={"nursing": 5}),
    ]
    assert client.post("/volunteers", json={"volunteers": late}, headers=co).status_code == 200
    opened = _answered_while_held(
        client,
        monkeypatch,
        (engine_lifecycle, "add_wave"),
        lambda: client.post(f"/rounds/{rid}/waves", json={"volunteers": ["V9"]}, headers=co),
    )
    assert opened.status_code == 201, opened.text
    monkeypatch.undo()  # the real add_wave again

    db = client.app.state.db
    with db.read() as s:
        ready = backfill.wave_document(s, rid, ["V8"], [])
    with db.write() as s:  # V2, in the round, erased after the document was built
        erase_volunteer(s, "V2")
    with db.write() as s:
        backfill.open_wave(s, rid, ["V8"], [], by="test", ready=ready)
    with db.read() as s:
        from volmatch.api.service.lifecycle.offers import lifecycle_of

        text = str(lifecycle_of(s, rid).document)
    assert "Ben Okafor" not in text and "'V2'" not in text and "V8" in text


def _answered_while_held(
    client: Any, monkeypatch: pytest.MonkeyPatch, held: tuple[Any, str], send: Any
) -> Any:
    """Send a request whose work `held` (module, function) is held until a host's PUT
    of a placement has been answered (200, committed) meanwhile; the request's answer."""
    module, name = held
    started, release = threading.Event(), threading.Event()
    real = getattr(module, name)

    def slow(*args: Any) -> Any:
        started.set()
        assert release.wait(30), f"the test never released {name}"
        return real(*args)

    monkeypatch.setattr(module, name, slow)
    answer: list[Any] = []
    sending = threading.Thread(target=lambda: answer.append(send()))
    sending.start()
    try:
        assert started.wait(10), f"{name} never ran"
        p1 = next(p for p in needs() if p["id"] == "P1")
        r = client.put(
            "/placements/P1",
            json={**p1, "title": "Head teacher"},
            headers=client.keys.auth("host1"),
        )
        assert r.status_code == 200, r.text
        assert not answer, f"the request finished before the PUT: {name} held the writer"
    finally:
        release.set()
        sending.join(30)
    return answer[0]


class _Spinning:
    """A stand-in for the engine's solve that runs until its stop signal says stop (a
    rules round's tens of seconds, spent only until then), then raises `Stopped` as the
    engine does; `real` solves every later call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from volmatch.api.service.lifecycle import backfill

        self.started, self.stopped = threading.Event(), threading.Event()
        self.calls = 0
        real = backfill.solve

        def solve(*args: Any) -> Any:
            from volmatch.matching.stop import Stopped

            self.calls += 1
            if self.calls > 1:
                return real(*args)
            stop = args[5]
            self.started.set()
            end = time.monotonic() + 30
            while not stop():
                assert time.monotonic() < end, "the solve was never told to stop"
                time.sleep(0.01)
            self.stopped.set()
            raise Stopped

        monkeypatch.setattr(backfill, "solve", solve)


@SQLITE_ONLY
def test_a_proposal_superseded_while_it_solves_stops_and_the_new_one_is_computed(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decline asks for a proposal; while the engine solves it, the coordinator asks
    for a new one (superseding it): the first solve is told to stop within a second, not
    after its whole time limit, stores nothing, and the new proposal is computed."""
    spinning = _Spinning(monkeypatch)
    rid = published(client)
    got = offers(client, rid)
    co = client.keys.auth("coordinator")
    first = _decline(client, got["V1"]["id"])["backfill"]
    assert spinning.started.wait(10), "the first proposal never started"
    t0 = time.monotonic()
    r = client.post(f"/rounds/{rid}/backfills", headers=co)
    assert r.status_code == 202, r.text
    assert spinning.stopped.wait(STOPS_WITHIN_S), "the superseded solve went on"
    assert time.monotonic() - t0 < STOPS_WITHIN_S
    second = computed(client, r.json())
    assert second["status"] == "open" and second["proposal"]["declined"] == ["V1"]
    old = client.get(first["url"], headers=co).json()
    assert old["status"] == "superseded" and old["proposal"] is None
    assert client.post(f"{second['url']}/confirm", headers=co).status_code == 200


@SQLITE_ONLY
def test_a_solve_is_told_to_stop_once_its_proposal_is_superseded_or_its_process_stops(
    client: Any, gate: Gate
) -> None:
    """The stop signal of a proposal's solve: go on while it is pending; stop once the
    API process shuts down (its runner's event), or once the proposal is superseded
    (read at most every `WANTED_POLL_S`), and for good."""
    from volmatch.api.service.lifecycle import backfill

    rid = published(client)
    got = offers(client, rid)
    bf = _decline(client, got["V1"]["id"])["backfill"]
    assert gate.started.wait(10)  # the app's runner holds it in its solve
    db = client.app.state.db
    stopping = threading.Event()
    stop = backfill.no_longer_wanted(db, bf["id"], stopping)
    assert not stop()
    stopping.set()
    assert stop()
    stop = backfill.no_longer_wanted(db, bf["id"])
    assert not stop()
    r = client.post(f"/rounds/{rid}/backfills", headers=client.keys.auth("coordinator"))
    assert r.status_code == 202, r.text
    end = time.monotonic() + STOPS_WITHIN_S
    while not stop():
        assert time.monotonic() < end, "the superseded proposal's solve was not told to stop"
        time.sleep(0.02)
    assert stop()


STOPS_WITHIN_S = 5.0
"""Seconds from the supersession to the solve's stop the tests allow (a look at the
status every `WANTED_POLL_S`, 0.25 s, then the solver's own `STOP_POLL_S`)."""

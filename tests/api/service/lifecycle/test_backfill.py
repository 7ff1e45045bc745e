"""Backfill through the API: a decline proposes one; confirming makes its offers and
freezes who accepted; a proposal on a round that changed since, a second confirmation
and the loser of two concurrent confirmations get 409 and change nothing; waves add
late volunteers; a withdrawn need is not filled again."""

from __future__ import annotations

import threading
from typing import Any

from tests.api.service.helpers import SQLITE_ONLY
from tests.api.service.lifecycle.helpers import (
    accept,
    asked,
    computed,
    decline,
    lifecycle,
    offers,
    published,
)


def _confirm(c: Any, rid: str, bid: int) -> Any:
    return c.post(f"/rounds/{rid}/backfills/{bid}/confirm", headers=c.keys.auth("coordinator"))


@SQLITE_ONLY
def test_a_confirmed_backfill_offers_the_freed_slot_and_keeps_the_accepted(client: Any) -> None:
    rid = published(client)
    got = offers(client, rid)
    for v in got:
        if v != "V1":
            accept(client, got[v]["id"])
    out = decline(client, got["V1"]["id"])
    proposal = out["backfill"]["proposal"]
    assert out["backfill"]["status"] == "open"
    assert sorted(proposal["frozen"]) == sorted(v for v in got if v != "V1")
    assert proposal["declined"] == ["V1"] and proposal["moves"] == []
    [new] = proposal["new_offers"]
    assert new["placement"] == got["V1"]["placement"] and new["volunteer"] not in got
    before = lifecycle(client, rid)
    r = _confirm(client, rid, out["backfill"]["id"])
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "confirmed"
    after = offers(client, rid)
    made = after[new["volunteer"]]
    assert made["state"] == "offered" and made["placement"] == new["placement"]
    assert made["score"] == new["score"]
    assert all(after[v]["state"] == "accepted" for v in got if v != "V1")
    assert lifecycle(client, rid)["version"] == before["version"] + 1
    r = _confirm(client, rid, out["backfill"]["id"])
    assert r.status_code == 409 and "confirmed" in r.json()["detail"]
    assert offers(client, rid) == after


@SQLITE_ONLY
def test_a_proposal_on_a_round_that_changed_since_is_refused(client: Any) -> None:
    rid = published(client)
    got = offers(client, rid)
    first = decline(client, got["V1"]["id"])["backfill"]
    accept(client, got["V2"]["id"])  # the round changes after the proposal
    r = _confirm(client, rid, first["id"])
    assert r.status_code == 409 and "refresh" in r.json()["detail"]
    assert offers(client, rid).keys() == got.keys()  # nobody new got an offer
    co = client.keys.auth("coordinator")
    fresh = asked(client, rid)
    assert fresh["status"] == "open"
    assert (
        client.get(f"/rounds/{rid}/backfills/{first['id']}", headers=co).json()["status"]
        == "superseded"
    )
    assert _confirm(client, rid, fresh["id"]).status_code == 200


def test_two_coordinators_confirming_at_once_one_wins_the_other_is_told_to_refresh(
    client: Any,
) -> None:
    rid = published(client)
    got = offers(client, rid)
    proposal = decline(client, got["V1"]["id"])["backfill"]
    version = lifecycle(client, rid)["version"]
    answers: list[int] = []
    go = threading.Barrier(2)

    def run() -> None:
        go.wait()
        answers.append(_confirm(client, rid, proposal["id"]).status_code)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    assert lifecycle(client, rid)["version"] == version + 1
    made = [o for o in offers(client, rid).values() if o["volunteer"] not in got]
    assert len(made) == len(proposal["proposal"]["new_offers"]) == 1


@SQLITE_ONLY
def test_a_wave_adds_late_volunteers_and_earlier_acceptances_stay(client: Any) -> None:
    from tests.helpers import vol

    rid = published(client)
    got = offers(client, rid)
    for v in got:
        accept(client, got[v]["id"])
    decline_out = client.post(
        f"/offers/{got['V1']['id']}/state",
        json={"to": "declined", "reason": "visa"},
        headers=client.keys.auth("coordinator"),
    )
    assert decline_out.status_code == 200, decline_out.text
    co = client.keys.auth("coordinator")
    star = vol("V9", name="Gil Late", nationality="FR", skills={"teaching": 5, "nursing": 5})
    assert client.post("/volunteers", json={"volunteers": [star]}, headers=co).status_code == 200
    r = client.post(f"/rounds/{rid}/waves", json={"volunteers": ["V9"]}, headers=co)
    assert r.status_code == 201, r.text
    wave = r.json()
    assert wave["wave"]["number"] == 2 and wave["wave"]["volunteers"] == ["V9"]
    assert wave["backfill"]["status"] == "pending" and wave["backfill"]["proposal"] is None
    assert r.headers["location"] == wave["backfill"]["url"]
    proposal = computed(client, wave["backfill"])["proposal"]
    assert [n["volunteer"] for n in proposal["new_offers"]] == ["V9"]
    assert sorted(proposal["frozen"]) == sorted(v for v in got if v != "V1")
    assert _confirm(client, rid, wave["backfill"]["id"]).status_code == 200
    late = offers(client, rid)["V9"]
    assert late["wave"] == 2 and late["placement"] == got["V1"]["placement"]
    r = client.post(f"/rounds/{rid}/waves", json={"volunteers": ["V9", "V404"]}, headers=co)
    assert r.status_code == 422
    assert {(e["record"], e["field"]) for e in r.json()["errors"]} == {("V9", "id"), ("V404", "id")}
    assert [w["number"] for w in client.get(f"/rounds/{rid}/waves", headers=co).json()] == [1, 2]


@SQLITE_ONLY
def test_a_withdrawn_need_is_not_filled_again(client: Any) -> None:
    rid = published(client)
    got = offers(client, rid)
    at_p2 = [v for v, o in got.items() if o["placement"] == "P2"]
    accept(client, got[at_p2[0]]["id"])
    h2 = client.keys.auth("host2")
    r = client.post(f"/rounds/{rid}/placements/P2/withdraw", json={}, headers=h2)
    assert r.status_code == 404  # P2 is H01's
    h1 = client.keys.auth("host1")
    r = client.post(
        f"/rounds/{rid}/placements/P2/withdraw", json={"text": "funding cut"}, headers=h1
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "pending" and r.headers["location"] == r.json()["url"]
    proposal = computed(client, r.json())["proposal"]
    assert proposal["withdrawn"] == ["P2"]
    assert all(n["placement"] != "P2" for n in proposal["new_offers"])
    now = offers(client, rid)
    assert all(now[v]["state"] == "withdrawn" for v in at_p2)
    assert lifecycle(client, rid)["withdrawn"] == ["P2"]
    r = client.post(f"/rounds/{rid}/placements/P2/withdraw", json={}, headers=h1)
    assert r.status_code == 409
    # The accepted offer withdrawn with its need holds no slot in the report.
    rep = client.get(
        "/report", params={"round": rid}, headers=client.keys.auth("coordinator")
    ).json()
    p2 = rep["host"]["H01"]
    assert rep["totals"]["withdrawn"] == len(at_p2) and rep["totals"]["accepted"] == 1
    assert rep["totals"]["filled"] == 0
    assert p2["withdrawn"] == len(at_p2) and p2["filled"] == 0


@SQLITE_ONLY
def test_confirming_prepares_nothing_in_its_write_and_an_older_proposal_still_confirms(
    client: Any, monkeypatch: Any
) -> None:
    """Each new offer of a proposal carries its start and months (computed with the
    proposal, outside any write), so a confirmation, inside its write transaction, does
    not prepare the round (seconds at 50,000 volunteers); a proposal stored before they
    were carried is prepared then, as before, to the same offers."""
    from volmatch.api.service.lifecycle import engine
    from volmatch.api.service.tables import BackfillRow

    rid = published(client)
    got = offers(client, rid)
    bf = decline(client, got["V1"]["id"])["backfill"]
    [new] = bf["proposal"]["new_offers"]
    assert new["start"] and new["months"] >= 1
    real = engine.prepared

    def refused(*_: Any) -> Any:
        raise AssertionError("the round was prepared inside the confirmation")

    monkeypatch.setattr(engine, "prepared", refused)
    assert _confirm(client, rid, bf["id"]).status_code == 200
    made = offers(client, rid)[new["volunteer"]]
    assert (made["placement"], made["score"], made["start"], made["months"]) == (
        new["placement"],
        new["score"],
        new["start"],
        new["months"],
    )

    # An older proposal, without start and months: prepared at confirmation.
    monkeypatch.setattr(engine, "prepared", real)
    bf2 = decline(client, got["V2"]["id"])["backfill"]
    assert bf2["proposal"]["new_offers"], "nobody left to offer: the fallback goes untested"
    with client.app.state.db.write() as s:
        row = s.get(BackfillRow, bf2["id"])
        row.proposal = {
            **row.proposal,
            "new_offers": [
                {k: v for k, v in n.items() if k not in ("start", "months")}
                for n in row.proposal["new_offers"]
            ],
        }
    assert _confirm(client, rid, bf2["id"]).status_code == 200
    for n in bf2["proposal"]["new_offers"]:
        made = offers(client, rid)[n["volunteer"]]
        assert (made["start"], made["months"]) == (n["start"], n["months"])


@SQLITE_ONLY
def test_a_locked_volunteer_who_declines_is_backfilled(client: Any) -> None:
    """The round's lock held V1 at P1 until V1 declined: the backfill fills the slot
    (it used to fail: 'V1 is locked by the round's policy'), the others stay."""
    rid = published(client, locked=[{"volunteer": "V1", "placement": "P1"}])
    got = offers(client, rid)
    assert got["V1"]["placement"] == "P1"
    for v in got:
        if v != "V1":
            accept(client, got[v]["id"])
    out = decline(client, got["V1"]["id"])
    assert out["backfill"]["status"] == "open", out["backfill"]
    proposal = out["backfill"]["proposal"]
    assert proposal["declined"] == ["V1"]
    assert sorted(proposal["frozen"]) == sorted(v for v in got if v != "V1")
    assert "V1" not in {v for v, _ in proposal["assignment"]}
    [new] = proposal["new_offers"]
    assert new["placement"] == "P1" and new["replaces"] == ["V1"]
    asked_now = asked(client, rid)  # the coordinator's own request agrees
    assert asked_now["status"] == "open"
    assert asked_now["proposal"]["new_offers"] == proposal["new_offers"]
    assert _confirm(client, rid, asked_now["id"]).status_code == 200
    assert offers(client, rid)[new["volunteer"]]["placement"] == "P1"

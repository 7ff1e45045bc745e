"""The Advice page after publication (issue 17 with issue 18): the offers at a need with
state and deadline, a volunteer's reply recorded from the page (a decline proposes a
backfill at once), the proposal with who gets an offer and the total change, and its
confirmation, refused with "refresh" when the round changed since, exactly as the API
refuses it."""

from __future__ import annotations

import re
from typing import Any

from tests.api.service.lifecycle.helpers import computed, lifecycle, offers, published
from tests.api.web.helpers import csrf_of, sign_in


def _advice(web: Any, rid: str, placement: str) -> Any:
    page = web.get(f"/coordinator/rounds/{rid}/advice", params={"placement": placement})
    assert page.status_code == 200, page.text
    return page


def _section(html: str) -> str:
    found = re.search(r'<section class="card" id="lifecycle".*?</section>', html, re.S)
    assert found, "the Advice page has no lifecycle part"
    return found.group(0)


def _newest_computed(web: Any, rid: str) -> dict[str, Any]:
    """The round's newest backfill proposal, once computed."""
    proposals = web.get(f"/rounds/{rid}/backfills", headers=web.keys.auth("coordinator")).json()
    return computed(web, proposals[-1])


def test_before_publication_the_part_says_when_offers_come(web: Any) -> None:
    from tests.api.service.helpers import seed, wait_round

    seed(web)
    assert sign_in(web, web.keys.coordinator).status_code == 303
    r = web.post("/rounds", json={"name": "draft"}, headers=web.keys.auth("coordinator"))
    rid = r.json()["id"]
    assert wait_round(web, rid, web.keys.auth("coordinator"))["status"] == "done"
    part = _section(_advice(web, rid, "P1").text)
    assert "Offers are made when this round is published" in part
    assert "data-refresh" not in part


def test_a_reply_recorded_on_the_page_lands_with_its_backfill(web: Any) -> None:
    rid = published(web)
    got = offers(web, rid)
    v1 = got["V1"]
    assert sign_in(web, web.keys.coordinator).status_code == 303
    page = _advice(web, rid, v1["placement"])
    part = _section(page.text)
    assert f'data-offer="{v1["id"]}"' in part and "Ana Lima" in part
    assert "offered" in part and v1["deadline"][:10] in part
    assert "No open proposal" in part
    csrf = csrf_of(page.text)

    # A decline without a reason is refused by the service and changes nothing.
    r = web.post(
        f"/coordinator/offers/{v1['id']}/reply",
        data={"csrf_token": csrf, "answer": "decline", "reason": ""},
    )
    assert r.status_code == 422 and "reason must be one of" in r.text
    assert offers(web, rid)["V1"]["state"] == "offered"

    r = web.post(
        f"/coordinator/offers/{v1['id']}/reply",
        data={"csrf_token": csrf, "answer": "decline", "reason": "visa", "text": "no visa in time"},
    )
    assert r.status_code == 303 and "life=reply" in r.headers["location"]
    assert offers(web, rid)["V1"]["state"] == "declined"
    _newest_computed(web, rid)  # the page waits for it 2 s at most: a loaded machine is slower
    part = _section(web.get(r.headers["location"]).text)
    assert "The volunteer&#39;s reply is recorded." in part
    assert "declined</strong> (visa)" in part and "no visa in time" in part
    proposals = web.get(f"/rounds/{rid}/backfills", headers=web.keys.auth("coordinator")).json()
    [open_one] = [b for b in proposals if b["status"] == "open"]
    proposal = open_one["proposal"]
    assert f"Proposal {open_one['id']}, computed at version {open_one['version']}" in part
    assert "the decline of V1 at " + v1["placement"] in part
    assert f"<dd>{proposal['total_before']}</dd>" in part
    assert f"<dd>{proposal['total_change']:+d}</dd>" in part
    for n in proposal["new_offers"]:
        assert n["volunteer"] in part


def test_confirm_makes_the_offers_and_a_stale_proposal_says_refresh(web: Any) -> None:
    rid = published(web)
    got = offers(web, rid)
    assert sign_in(web, web.keys.coordinator).status_code == 303
    placement = got["V1"]["placement"]
    csrf = csrf_of(_advice(web, rid, placement).text)
    web.post(
        f"/coordinator/offers/{got['V1']['id']}/reply",
        data={"csrf_token": csrf, "answer": "decline", "reason": "personal"},
    )
    _newest_computed(web, rid)
    [stale] = [
        b
        for b in web.get(f"/rounds/{rid}/backfills", headers=web.keys.auth("coordinator")).json()
        if b["status"] == "open"
    ]
    # Another reply lands before the coordinator confirms: the proposal is out of date.
    other = next(v for v in got if v != "V1")
    r = web.post(
        f"/coordinator/offers/{got[other]['id']}/reply",
        data={"csrf_token": csrf, "answer": "accept"},
    )
    assert r.status_code == 303
    version = lifecycle(web, rid)["version"]
    r = web.post(
        f"/coordinator/rounds/{rid}/backfills/{stale['id']}/confirm",
        data={"csrf_token": csrf, "placement": placement},
    )
    assert r.status_code == 409 and "Refresh" in r.text
    assert lifecycle(web, rid)["version"] == version
    # The same refusal on a French page: French, the service's reason included.
    r = web.post(
        f"/coordinator/rounds/{rid}/backfills/{stale['id']}/confirm?lang=fr",
        data={"csrf_token": csrf, "placement": placement},
    )
    assert r.status_code == 409 and "Actualisez" in r.text and "le tour a changé" in r.text
    web.get("/coordinator?lang=en")  # back to English (the switch's cookie)
    assert set(offers(web, rid)) == set(got)  # no offer made

    # Asked for again, the current proposal confirms and its offers are made.
    r = web.post(
        f"/coordinator/rounds/{rid}/backfills", data={"csrf_token": csrf, "placement": placement}
    )
    assert r.status_code == 303 and "life=proposed" in r.headers["location"]
    _newest_computed(web, rid)
    part = _section(_advice(web, rid, placement).text)
    bid = re.search(r"/backfills/(\d+)/confirm", part)
    assert bid is not None
    r = web.post(
        f"/coordinator/rounds/{rid}/backfills/{bid.group(1)}/confirm",
        data={"csrf_token": csrf, "placement": placement},
    )
    assert r.status_code == 303 and "life=confirmed" in r.headers["location"]
    confirmed = web.get(
        f"/rounds/{rid}/backfills/{bid.group(1)}", headers=web.keys.auth("coordinator")
    ).json()
    assert confirmed["status"] == "confirmed"
    now = offers(web, rid)
    for n in confirmed["proposal"]["new_offers"]:
        assert now[n["volunteer"]]["placement"] == n["placement"]
        assert now[n["volunteer"]]["state"] == "offered"
    # The same proposal twice: refused, refresh.
    r = web.post(
        f"/coordinator/rounds/{rid}/backfills/{bid.group(1)}/confirm",
        data={"csrf_token": csrf, "placement": placement},
    )
    assert r.status_code == 409 and "Refresh" in r.text

    # The part alone (the page's script fetches it as replies land).
    alone = web.get(f"/coordinator/rounds/{rid}/advice/lifecycle", params={"placement": placement})
    assert alone.status_code == 200 and alone.text.lstrip().startswith("<section")
    assert f'data-offer="{got["V1"]["id"]}"' in alone.text
    # Without the CSRF token: the Refused page, nothing recorded.
    r = web.post(f"/coordinator/offers/{got[other]['id']}/reply", data={"answer": "decline"})
    assert r.status_code == 403 and offers(web, rid)[other]["state"] == "accepted"
    # A host's session: these pages do not exist for it.
    web.cookies.clear()
    assert sign_in(web, web.keys.host1).status_code == 303
    assert (
        web.get(
            f"/coordinator/rounds/{rid}/advice/lifecycle", params={"placement": placement}
        ).status_code
        == 404
    )


def test_a_proposal_being_computed_says_so_until_it_is_there(
    web: Any, gate: Any, monkeypatch: Any
) -> None:
    from volmatch.api.web.routes import offers as offer_pages

    monkeypatch.setattr(offer_pages, "PAGE_WAIT_S", 0.1)  # the engine is held: no use waiting
    rid = published(web)
    v1 = offers(web, rid)["V1"]
    assert sign_in(web, web.keys.coordinator).status_code == 303
    csrf = csrf_of(_advice(web, rid, v1["placement"]).text)
    r = web.post(
        f"/coordinator/offers/{v1['id']}/reply",
        data={"csrf_token": csrf, "answer": "decline", "reason": "visa"},
    )
    assert r.status_code == 303
    assert gate.started.wait(10)
    [pending] = web.get(f"/rounds/{rid}/backfills", headers=web.keys.auth("coordinator")).json()
    part = _section(web.get(r.headers["location"]).text)
    assert f'data-pending="{pending["id"]}"' in part  # coordinator.js asks again soon
    assert f"Proposal {pending['id']} is being computed after the decline of V1 at" in part
    assert "No open proposal" not in part and "Propose a backfill now" not in part
    fr_page = web.get(
        f"/coordinator/rounds/{rid}/advice", params={"placement": v1["placement"], "lang": "fr"}
    )
    fr = _section(fr_page.text)
    assert f"La proposition {pending['id']} est en cours de calcul après le refus de V1" in fr
    web.get("/coordinator?lang=en")
    gate.release.set()
    done = computed(web, pending)
    part = _section(_advice(web, rid, v1["placement"]).text)
    assert "data-pending" not in part and "being computed" not in part
    assert f"Proposal {done['id']}, computed at version {done['version']}" in part


def test_a_proposal_the_engine_refused_says_why(web: Any, monkeypatch: Any) -> None:
    from volmatch.api.service.lifecycle import backfill
    from volmatch.models import ErrorItem
    from volmatch.models.lifecycle import InvalidBackfill

    def refuse(*_: Any) -> dict[str, Any]:
        raise InvalidBackfill([ErrorItem("offers", "V1", "placement", "no such placement")])

    rid = published(web)
    placement = offers(web, rid)["V1"]["placement"]
    monkeypatch.setattr(backfill, "solve", refuse)
    assert sign_in(web, web.keys.coordinator).status_code == 303
    csrf = csrf_of(_advice(web, rid, placement).text)
    r = web.post(
        f"/coordinator/rounds/{rid}/backfills", data={"csrf_token": csrf, "placement": placement}
    )
    assert r.status_code == 303
    failed = _newest_computed(web, rid)
    assert failed["status"] == "failed"
    part = _section(web.get(r.headers["location"]).text)
    assert f"Proposal {failed['id']}, asked for after a coordinator asked for it, could" in part
    assert "no longer fit" in part and "Propose a backfill now" in part
    assert "data-pending" not in part


def test_a_refused_proposal_says_why_in_the_pages_language(web: Any, monkeypatch: Any) -> None:
    """The engine's reason for a failed proposal, translated by its shape: offers that no
    longer fit the document, and a round over the pair limit (its counts in French
    figures); in English as the service stored it."""
    import html

    from volmatch.api.service.lifecycle import backfill
    from volmatch.models import ErrorItem, TooManyPairs
    from volmatch.models.lifecycle import InvalidBackfill

    refusals: list[Exception] = [
        InvalidBackfill([ErrorItem("offers", "V1", "placement", "no such placement")]),
        TooManyPairs(1_234_567, 1_000_000, "VOLMATCH_MAX_ROUND_PAIRS"),
    ]

    def refuse(*_: Any) -> dict[str, Any]:
        raise refusals.pop(0)

    rid = published(web)
    placement = offers(web, rid)["V1"]["placement"]
    monkeypatch.setattr(backfill, "solve", refuse)
    assert sign_in(web, web.keys.coordinator).status_code == 303
    said = []
    for _ in range(2):
        csrf = csrf_of(_advice(web, rid, placement).text)
        r = web.post(
            f"/coordinator/rounds/{rid}/backfills",
            data={"csrf_token": csrf, "placement": placement},
        )
        assert r.status_code == 303
        assert _newest_computed(web, rid)["status"] == "failed"
        page = r.headers["location"].split("#")[0]
        english = html.unescape(_section(web.get(f"{page}&lang=en").text))
        french = html.unescape(_section(web.get(f"{page}&lang=fr").text))
        said.append((english, french))
    (en1, fr1), (en2, fr2) = said
    assert "the round's offers no longer fit its document; 1 error(s) in the backfill" in en1
    assert "les offres du tour ne correspondent plus à son document : 1 erreur(s)" in fr1
    assert "1,234,567 candidate (volunteer, placement) pairs, over the limit of 1,000,000" in en2
    assert (
        "le tour a 1\u202f234\u202f567 paires (volontaire, besoin) candidates, au-delà de la "
        "limite de 1\u202f000\u202f000"
    ) in fr2
    assert "VOLMATCH_MAX_ROUND_PAIRS" in fr2
    assert "no longer fit" not in fr1 and "candidate (volunteer" not in fr2

"""The volunteer's personal link: a small page, one answer, then 410; forged and unknown
links 404; expired ones 410; none of the refusals changes anything; the secret is not
stored and not logged."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from tests.api.service.helpers import SQLITE_ONLY
from tests.api.service.lifecycle.helpers import computed, lifecycle, offers, published


def _link(c: Any, offer_id: int) -> str:
    r = c.post(f"/offers/{offer_id}/link", headers=c.keys.auth("coordinator"))
    assert r.status_code == 201, r.text
    assert r.json()["url"] == f"/offers/{r.json()['token']}"
    return str(r.json()["url"])


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + " " + str(record.__dict__))


@SQLITE_ONLY
def test_a_link_answers_once_and_refusals_change_nothing(client: Any) -> None:
    rid = published(client)
    got = offers(client, rid)
    url = _link(client, got["V1"]["id"])
    token = url.rsplit("/", 1)[1]
    service_log = logging.getLogger("volmatch.service")
    kept, level = _Kept(), service_log.level
    service_log.addHandler(kept)
    service_log.setLevel(logging.INFO)
    try:
        page = client.get(url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert got["V1"]["placement"] in page.text and "<form" in page.text
        assert "Ana Lima" not in page.text  # the page shows the offer, not the person
        r = client.post(url, data={"answer": "decline"})  # a decline needs a reason
        assert r.status_code == 422 and offers(client, rid)["V1"]["state"] == "offered"
        r = client.post(url, data={"answer": "accept", "text": "Thank you!"})
        assert r.status_code == 200 and "accepted" in r.text
        assert offers(client, rid)["V1"]["state"] == "accepted"
        version = lifecycle(client, rid)["version"]
        for again in ({"answer": "decline", "reason": "personal"}, {"answer": "accept"}):
            r = client.post(url, data=again)
            assert r.status_code == 410 and "used already" in r.text
        assert client.get(url).status_code == 410
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert client.get(f"/offers/{forged}").status_code == 404
        assert client.post(f"/offers/{forged}", data={"answer": "accept"}).status_code == 404
        assert client.get("/offers/ol_0123456789abcdef_" + "x" * 32).status_code == 404
    finally:
        service_log.removeHandler(kept)
        service_log.setLevel(level)
    assert offers(client, rid)["V1"]["state"] == "accepted"
    assert lifecycle(client, rid)["version"] == version
    secret = token.split("_", 2)[2]
    logged = "\n".join(kept.lines)
    assert "/offers/ol_" in logged  # the requests were logged, their secrets masked
    assert secret not in logged
    with client.app.state.db.read() as s:
        from sqlalchemy import text

        stored = " ".join(
            str(x) for row in s.execute(text("SELECT * FROM offer_tokens")) for x in row
        )
    assert secret not in stored
    events = client.get(
        f"/offers/{got['V1']['id']}", headers=client.keys.auth("coordinator")
    ).json()["events"]
    assert events[-1]["by"] == "volunteer:V1" and events[-1]["text"] == "Thank you!"


@SQLITE_ONLY
def test_a_decline_through_the_link_proposes_a_backfill_and_a_new_link_revokes_the_old(
    client: Any,
) -> None:
    rid = published(client)
    got = offers(client, rid)
    old = _link(client, got["V2"]["id"])
    new = _link(client, got["V2"]["id"])
    assert client.get(old).status_code == 410
    r = client.post(new, data={"answer": "decline", "reason": "dates"})
    assert r.status_code == 200 and "declined" in r.text
    assert offers(client, rid)["V2"]["state"] == "declined"
    backfills = client.get(
        f"/rounds/{rid}/backfills", headers=client.keys.auth("coordinator")
    ).json()
    assert computed(client, backfills[-1])["status"] == "open"
    assert backfills[-1]["trigger"]["volunteer"] == "V2"


@SQLITE_ONLY
def test_an_expired_offer_refuses_its_link_and_no_link_is_issued(client: Any) -> None:
    from volmatch.api.service.lifecycle import links
    from volmatch.api.service.lifecycle.reminders import tick

    rid = published(client)
    got = offers(client, rid)
    url = _link(client, got["V3"]["id"])
    later = dt.datetime.fromisoformat(got["V3"]["deadline"]) + dt.timedelta(seconds=1)
    with client.app.state.db.read() as s, pytest.raises(links.LinkRefused) as exc:
        links.resolve(s, url.rsplit("/", 1)[1], later)
    assert exc.value.status == 410 and "expired" in exc.value.detail
    with client.app.state.db.write() as s:
        tick(s, later)
    assert client.get(url).status_code == 410
    assert offers(client, rid)["V3"]["state"] == "expired"
    r = client.post(f"/offers/{got['V3']['id']}/link", headers=client.keys.auth("coordinator"))
    assert r.status_code == 409


@SQLITE_ONLY
def test_a_note_of_2000_characters_in_any_script_is_taken_whole(client: Any) -> None:
    """The form was refused (413, as JSON) above 8,000 bytes: 900 characters of Nepali,
    percent-encoded at 9 bytes each, within the page's 2,000."""
    rid = published(client)
    offer_id = offers(client, rid)["V1"]["id"]
    note = ("नमस्ते 🙂 " * 300)[:2000]
    r = client.post(_link(client, offer_id), data={"answer": "accept", "text": note})
    assert r.status_code == 200 and "accepted" in r.text
    detail = client.get(f"/offers/{offer_id}", headers=client.keys.auth("coordinator")).json()
    assert detail["events"][-1]["text"] == note


@SQLITE_ONLY
def test_a_note_longer_than_the_form_allows_is_refused_not_cut(client: Any) -> None:
    """Text past 2,000 characters (another client than the page) was cut off silently."""
    rid = published(client)
    offer_id = offers(client, rid)["V1"]["id"]
    url = _link(client, offer_id)
    r = client.post(url, data={"answer": "accept", "text": "x" * 2001})
    assert r.status_code == 422 and "longer than 2000 characters" in r.text
    assert offers(client, rid)["V1"]["state"] == "offered"
    r = client.post(url, data={"answer": "accept", "text": "x" * 2000})
    assert r.status_code == 200

"""The clock: overdue offers expire (a backfill is proposed), reminders are queued once
each per role (deadlines approaching, offers expired, deployments ending in 3 and 2
months), the feed shows a host its own only, and the outbox is e-mailed through a
local SMTP server (aiosmtpd) when one is configured, never otherwise."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes
from typing import Any

from tests.api.service.helpers import SQLITE_ONLY
from tests.api.service.lifecycle.helpers import accept, lifecycle, offers, published, state


def _tick(c: Any, now: dt.datetime) -> Any:
    from volmatch.api.service.lifecycle.reminders import tick

    with c.app.state.db.write() as s:
        return tick(s, now)


def test_expiry_and_reminders_are_queued_once_per_role(client: Any) -> None:
    rid = published(client)
    got = offers(client, rid)
    accept(client, got["V1"]["id"])
    deadline = dt.datetime.fromisoformat(got["V2"]["deadline"])
    soon = _tick(client, deadline - dt.timedelta(days=2))
    assert soon.expired == [] and soon.queued == 2 * 3  # three open offers, two roles
    assert _tick(client, deadline - dt.timedelta(days=1)).queued == 0  # not again
    version = lifecycle(client, rid)["version"]
    late = _tick(client, deadline + dt.timedelta(minutes=1))
    assert sorted(late.expired) == sorted(got[v]["id"] for v in got if v != "V1")
    assert late.queued == 2 * 3
    now = offers(client, rid)
    assert {v: o["state"] for v, o in now.items()} == {
        v: ("accepted" if v == "V1" else "expired") for v in got
    }
    assert lifecycle(client, rid)["version"] == version + 1
    bfs = client.get(f"/rounds/{rid}/backfills", headers=client.keys.auth("coordinator"))
    assert bfs.json()[-1]["trigger"]["kind"] == "expired"
    events = client.get(
        f"/offers/{got['V2']['id']}", headers=client.keys.auth("coordinator")
    ).json()["events"]
    assert (events[-1]["by"], events[-1]["to"], events[-1]["reason"]) == (
        "system",
        "expired",
        "no_reply",
    )
    co = client.get("/reminders", headers=client.keys.auth("coordinator")).json()
    assert kinds_of(co) == {"deadline_soon": 3, "offer_expired": 3}
    h2 = client.get("/reminders", headers=client.keys.auth("host2")).json()
    assert h2 and {m["host_id"] for m in h2} == {"H02"}
    assert all("Lima" not in m["body"] + m["subject"] for m in co)


def kinds_of(msgs: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in msgs:
        out[m["kind"]] = out.get(m["kind"], 0) + 1
    return out


@SQLITE_ONLY
def test_deployments_ending_in_three_and_two_months_are_reminded(client: Any) -> None:
    rid = published(client)
    got = offers(client, rid)
    o = got["V1"]
    accept(client, o["id"])
    state(client, o["id"], "pre_departure")
    state(client, o["id"], "deployed")
    start = dt.date.fromisoformat(o["start"])
    end = dt.date(
        start.year + (start.month - 1 + o["months"]) // 12,
        (start.month - 1 + o["months"]) % 12 + 1,
        start.day,
    )
    at = dt.datetime.combine(end, dt.time(), dt.UTC)
    _tick(client, at - dt.timedelta(days=100))  # the other offers expire meanwhile
    kinds = kinds_of(client.get("/reminders", headers=client.keys.auth("coordinator")).json())
    assert "ending_3m" not in kinds
    _tick(client, at - dt.timedelta(days=80))
    _tick(client, at - dt.timedelta(days=50))
    _tick(client, at - dt.timedelta(days=40))
    kinds = kinds_of(client.get("/reminders", headers=client.keys.auth("coordinator")).json())
    assert kinds["ending_3m"] == 1 and kinds["ending_2m"] == 1


@SQLITE_ONLY
def test_the_outbox_is_e_mailed_through_a_configured_smtp_server(client: Any) -> None:
    from aiosmtpd.controller import Controller

    from tests.api.service.helpers import free_port, settings_for
    from volmatch.api.service.lifecycle.mail import send_pending

    class Inbox:
        def __init__(self) -> None:
            self.mails: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.mails.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    rid = published(client)
    got = offers(client, rid)
    deadline = dt.datetime.fromisoformat(got["V2"]["deadline"])
    _tick(client, deadline - dt.timedelta(days=1))
    db = client.app.state.db
    with db.write() as s:  # no server configured: nothing is sent
        assert send_pending(s, settings_for(db.url)) == 0
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = settings_for(
            db.url,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_coordinators="office@example.org",
            smtp_hosts={"H01": "h01@example.org"},
        )
        with db.write() as s:
            sent = send_pending(s, settings)
        with db.write() as s:
            again = send_pending(s, settings)
    finally:
        smtp.stop()
    assert sent == len(inbox.mails) == 4 + 3 and again == 0  # H02 has no address
    to = sorted(r for rcpts, _ in inbox.mails for r in rcpts)
    assert to == ["h01@example.org"] * 3 + ["office@example.org"] * 4
    first = message_from_bytes(inbox.mails[0][1])
    assert "reply due" in first["Subject"]
    feed = client.get("/reminders", headers=client.keys.auth("coordinator")).json()
    assert all(m["sent_at"] for m in feed)


def test_two_ticks_at_once_expire_each_offer_once(client: Any) -> None:
    import threading

    rid = published(client)
    got = offers(client, rid)
    later = dt.datetime.fromisoformat(got["V1"]["deadline"]) + dt.timedelta(minutes=1)
    expired: list[int] = []
    failed: list[str] = []
    go = threading.Barrier(2)

    def run() -> None:
        go.wait()
        try:
            expired.extend(_tick(client, later).expired)
        except Exception as exc:
            failed.append(type(exc).__name__)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failed == []
    assert sorted(expired) == sorted(o["id"] for o in got.values())
    from sqlalchemy import text

    with client.app.state.db.read() as s:
        n = s.execute(text("SELECT count(*) FROM offer_events WHERE to_state = 'expired'"))
        assert n.scalar() == len(got)
        kinds = s.execute(text("SELECT count(*) FROM outbox WHERE kind = 'offer_expired'"))
        assert kinds.scalar() == 2 * len(got)

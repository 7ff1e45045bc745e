"""A 2xx means committed, for the offers' life, the what-ifs and the pages' forms too: a
real `volmatch serve` is killed (SIGKILL) the moment each answer is in, started again on
the same database, and the write is there. Covered: the offers of a round published
before offers existed, the coordinator's reply, the host's decision, the volunteer's
link (made, then answered), a state change, an outcome, `POST /lifecycle/tick`, a
variant, a scenario run, and the forms of the host page (a need) and the coordinator
page (a round; a re-run with a pair locked, one forbidden and a move limit).
`test_durability.py` kills after the other writes, `test_pending.py` after the backfill
writes. SQLite only: the thirteen restarts take about 30 s; on PostgreSQL the test
passes too (26 s, load 2-4) but running both would double its time, and
`test_durability.py` already kills a PostgreSQL server after the other writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import update

from tests.api.service.helpers import SQLITE_ONLY, Db, Keys, Server, store
from tests.api.service.lifecycle.helpers import (
    KEY_ROLES,
    OLD_ROUND_ID,
    offers,
    published,
    published_0002_database,
    state,
)
from tests.api.web.helpers import csrf_of, sign_in

SECRETS = ("Ana Lima", "Ben Okafor", "2000-01-02")

NEED_FORM = {
    "id": "P9",
    "title": "Maths teacher",
    "country": "KE",
    "slots": "1",
    "priority": "3",
    "security_level": "0",
    "start_earliest": "2027-04-01",
    "start_latest": "2027-06-01",
    "min_months": "6",
    "max_months": "12",
}

ROUND_FORM = {"name": "autumn", "mode": "optimal", "time_limit_s": "10"}


@SQLITE_ONLY
def test_every_acknowledged_lifecycle_whatif_and_page_write_survives_a_kill(
    db: Db, tmp_path: Path
) -> None:
    from volmatch.api.service.auth import create_key
    from volmatch.api.service.tables import Offer

    published_0002_database(db.url)  # a round published before offers existed
    database, _ = store(db.url)
    with database.write() as s:
        keys = Keys(*(create_key(s, r, h)[1] for r, h in KEY_ROLES))
    # No periodic tick during the test: `POST /lifecycle/tick` is the one that expires.
    server = Server(db.url, tmp_path, env={"VOLMATCH_LIFECYCLE_TICK_S": "3600"})
    checked: list[str] = []
    try:
        with (
            httpx.Client(base_url=server.base, timeout=30) as c,
            httpx.Client(base_url=server.base, timeout=30) as host_page,
            httpx.Client(base_url=server.base, timeout=30) as co_page,
        ):
            c.keys = keys  # type: ignore[attr-defined]
            co, pl = keys.auth("coordinator"), keys.auth("planner")

            def acked(web: httpx.Client, path: str, status: int, **kw: Any) -> httpx.Response:
                """POST, expect `status`, and kill the server the moment the answer is in."""
                r = web.post(path, **kw)
                assert r.status_code == status, f"POST {path}: {r.status_code} {r.text}"
                server.restart()
                checked.append(path)
                return r

            acked(c, f"/rounds/{OLD_ROUND_ID}/offers", 201, headers=co)
            assert list(offers(c, OLD_ROUND_ID)) == ["V1"]

            rid = published(c)
            got = offers(c, rid)
            v_acc, v_host, v_link, v_late = sorted(got)[:4]
            acked(
                c, f"/offers/{got[v_acc]['id']}/reply", 200, headers=co, json={"answer": "accept"}
            )
            assert offers(c, rid)[v_acc]["state"] == "accepted"

            host = keys.auth("host1" if got[v_host]["host"] == "H01" else "host2")
            body = {"decision": "decline", "text": "no"}
            acked(c, f"/offers/{got[v_host]['id']}/host", 200, headers=host, json=body)
            assert offers(c, rid)[v_host]["state"] == "declined"

            url = acked(c, f"/offers/{got[v_link]['id']}/link", 201, headers=co).json()["url"]
            acked(c, url, 200, data={"answer": "accept"})
            assert offers(c, rid)[v_link]["state"] == "accepted"

            acked(
                c,
                f"/offers/{got[v_acc]['id']}/state",
                200,
                headers=co,
                json={"to": "pre_departure"},
            )
            assert offers(c, rid)[v_acc]["state"] == "pre_departure"
            state(c, got[v_acc]["id"], "deployed")
            body = {"completed": True, "host_rating": 5}
            acked(c, f"/offers/{got[v_acc]['id']}/outcome", 201, headers=co, json=body)
            assert len(c.get("/outcomes", params={"round": rid}, headers=co).json()) == 1

            with database.write() as s:  # overdue: the tick expires it
                s.execute(
                    update(Offer)
                    .where(Offer.id == got[v_late]["id"])
                    .values(deadline=dt.datetime(2026, 1, 1))
                )
            ticked = acked(c, "/lifecycle/tick", 200, headers=co).json()
            assert got[v_late]["id"] in ticked["expired"]
            assert offers(c, rid)[v_late]["state"] == "expired"

            body = {"name": "stable", "policy": {"mode": "stable"}}
            variant = acked(c, f"/rounds/{rid}/variants", 202, headers=co, json=body).json()
            assert c.get(f"/rounds/{variant['id']}", headers=co).json()["parent_id"] == rid

            scenario = {
                "name": "what if",
                "variants": [{"name": "stable", "changes": [{"policy": {"mode": "stable"}}]}],
            }
            run = acked(c, f"/rounds/{rid}/scenarios", 202, headers=pl, json=scenario).json()
            assert c.get(f"/scenario-runs/{run['id']}", headers=pl).json()["name"] == "what if"

            # The pages: a signed-in session is stored, so it outlives the restarts.
            assert sign_in(host_page, keys.host1).status_code == 303
            form = {**NEED_FORM, "csrf_token": csrf_of(host_page.get("/host/needs/new").text)}
            acked(host_page, "/host/needs/new", 303, data=form)
            need = c.get("/placements/P9", headers=keys.auth("host1")).json()
            assert need["placement"]["title"] == "Maths teacher"

            assert sign_in(co_page, keys.coordinator).status_code == 303
            token = csrf_of(co_page.get("/coordinator/rounds/new").text)
            r = acked(
                co_page, "/coordinator/rounds/new", 303, data={**ROUND_FORM, "csrf_token": token}
            )
            started = r.headers["location"].rsplit("/", 1)[1]
            assert c.get(f"/rounds/{started}", headers=co).json()["name"] == "autumn"

            result = c.get(f"/rounds/{rid}/result", headers=co).json()["assignments"]
            locked = f"{result[0]['volunteer']}:{result[0]['placement']}"
            forbidden = f"{result[1]['volunteer']}:{result[1]['placement']}"
            form = {"csrf_token": token, "lock": locked, "forbid": forbidden, "max_moves": "3"}
            r = acked(co_page, f"/coordinator/rounds/{rid}/rerun", 303, data=form)
            again = r.headers["location"].rsplit("/", 1)[1]
            policy = c.get(f"/rounds/{again}/document", headers=co).json()["policy"]
            assert {"volunteer": result[0]["volunteer"], "placement": result[0]["placement"]} in (
                policy["locked"]
            )
            assert {"volunteer": result[1]["volunteer"], "placement": result[1]["placement"]} in (
                policy["forbidden"]
            )
            assert policy["max_moves"] == 3
    finally:
        server.stop()
        database.dispose()
    assert len(checked) == 13
    for secret in SECRETS:
        assert secret not in server.log, f"{secret!r} in the server's log"

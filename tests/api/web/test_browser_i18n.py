"""A French result page in a real browser (chromium through Playwright, against a real
`volmatch serve`): the unplaced volunteers' and the open slots' reasons are French,
rendered from the result's structured parts; the English page shows the result's own
text; a re-run's moves say why in French; a count of one decline is in the French
singular. Screenshots: coordinator-result-fr.png, coordinator-rerun-moves-fr.png
(docs/pages.md)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.api.service.helpers import round_doc
from tests.api.web.conftest import Served
from tests.api.web.helpers import shoot
from tests.helpers import plc

pytestmark = pytest.mark.browser


def test_a_french_result_page_gives_french_reasons(served: Served, page: Any) -> None:
    import httpx

    doc = round_doc()
    doc["placements"].append(
        plc("P4", host="H02", slots=3, country="SN", required_languages={"sw": "C1"})
    )
    co = {"Authorization": f"Bearer {served.key('coordinator')}"}
    with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
        r = c.post("/rounds", json={"name": "fr reasons", "document": doc})
        assert r.status_code == 202, r.text
        rid = str(r.json()["id"])
        end = time.monotonic() + 60
        while c.get(f"/rounds/{rid}").json()["status"] != "done":
            assert time.monotonic() < end, "the round did not finish"
            time.sleep(0.05)
        result = c.get(f"/rounds/{rid}/result").json()
    page.goto(f"{served.base}/coordinator/rounds/{rid}")
    page.get_by_label("API key").fill(served.key("coordinator"))
    page.get_by_role("button", name="Sign in").click()
    page.locator("#unmatched").wait_for()
    english = page.locator("#unmatched li").all_inner_texts()
    assert english == [t for u in result["unmatched_volunteers"] for t in u["reasons"]]
    page.goto(f"{served.base}/coordinator/rounds/{rid}?lang=fr")
    unplaced = page.locator("#unmatched li").all_inner_texts()
    assert unplaced == ["n'a pas suivi la formation exigée de tout volontaire : 'pre-deployment'"]
    open_slots = " ".join(page.locator("#open-slots li").all_inner_texts())
    assert "aucun volontaire ne parle swahili au niveau C1 ou plus" in open_slots
    assert "5 sur 5 volontaires échouent à la règle « languages »" in open_slots
    assert "no volunteer" not in open_slots and "fail the rule" not in open_slots
    page.locator("#open-slots").scroll_into_view_if_needed()
    shoot(page, "coordinator-result-fr", full_page=False)


def _sign_in(page: Any, served: Served) -> None:
    page.goto(f"{served.base}/sign-in")
    page.get_by_label("API key").fill(served.key("coordinator"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.base}/coordinator")


def test_a_french_rerun_says_why_each_person_moved_in_french(served: Served, page: Any) -> None:
    """Forbid a chosen pair and re-run: the moves' why, from their parts, in French (and
    in English as the result says it). Screenshot: coordinator-rerun-moves-fr.png."""
    import httpx

    co = {"Authorization": f"Bearer {served.key('coordinator')}"}
    with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
        r = c.post("/rounds", json={"name": "fr moves", "document": round_doc()})
        assert r.status_code == 202, r.text
        rid = str(r.json()["id"])
        end = time.monotonic() + 60
        while c.get(f"/rounds/{rid}").json()["status"] != "done":
            assert time.monotonic() < end, "the round did not finish"
            time.sleep(0.05)
        first = c.get(f"/rounds/{rid}/result").json()["assignments"][0]
    v, p = first["volunteer"], first["placement"]
    _sign_in(page, served)
    page.goto(f"{served.base}/coordinator/rounds/{rid}?forbid={v}:{p}&lang=en")
    page.get_by_role("button", name="Re-run").click()
    page.locator("#moves").wait_for(timeout=60_000)
    english = page.locator("#moves td[data-label='Why']").all_inner_texts()
    assert english and english[0].startswith("the previous pair breaks a hard rule now")
    page.goto(page.url.split("?")[0] + "?lang=fr")
    rows = page.locator("#moves tbody tr")
    mine = rows.filter(has_text=v).first.inner_text()
    assert (
        "la paire précédente enfreint désormais une règle impérative : forbidden : "
        f"le coordinateur a interdit ce volontaire à {p}"
    ) in mine
    why = " ".join(page.locator("#moves td[data-label='Pourquoi']").all_inner_texts())
    assert "previous pair" not in why and "moved" not in why
    page.locator("#moves").scroll_into_view_if_needed()
    shoot(page, "coordinator-rerun-moves-fr", full_page=False)
    page.goto(page.url.split("?")[0] + "?lang=en")  # the cookie back to English


def test_a_single_decline_reads_in_the_french_singular(served: Served, page: Any) -> None:
    """A backfill's result document (as `volmatch backfill --out` writes it) stored as a
    round: its open slot counts one declined volunteer, and the French page says "1 a
    refusé son offre", not "1 ont refusé"."""
    import uuid

    from tests.helpers import doc, vol
    from volmatch.api.service.db import open_database
    from volmatch.api.service.tables import Job, ResultRow, RoundRow
    from volmatch.matching import prepare
    from volmatch.matching.lifecycle.document import backfill_document
    from volmatch.models import parse_round

    document = doc([vol("V1")], [plc("P1"), plc("P2", required_skills={"wash": 2})])
    _, result = backfill_document(
        prepare(parse_round(document)), {"V1": "P1"}, declined=["V1"], accepted=[]
    )
    rid = uuid.uuid4().hex
    db = open_database(served.db_url)
    try:
        with db.write() as s:
            s.add(
                RoundRow(
                    id=rid,
                    name="backfill",
                    source="document",
                    created_by="test",
                    n_volunteers=1,
                    n_placements=2,
                    document=document,
                )
            )
            s.flush()
            s.add(Job(round_id=rid, status="done", progress={"stage": "done"}, attempts=1))
            s.add(ResultRow(round_id=rid, result=result.model_dump(mode="json"), worker="test"))
    finally:
        db.dispose()
    _sign_in(page, served)
    page.goto(f"{served.base}/coordinator/rounds/{rid}?lang=fr")
    page.locator("#open-slots").wait_for(timeout=30_000)
    said = " ".join(page.locator("#open-slots li").all_inner_texts())
    assert (
        "1 volontaire remplit chaque exigence sauf les règles par paire : "
        "1 a refusé son offre, ou l'a laissée expirer"
    ) in said
    assert "ont refusé" not in said and "declined" not in said
    page.goto(f"{served.base}/coordinator/rounds/{rid}?lang=en")
    assert "1 declined their offer, or let it expire" in page.locator("#open-slots").inner_text()

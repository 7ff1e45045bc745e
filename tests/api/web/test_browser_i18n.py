"""A French result page in a real browser (chromium through Playwright, against a real
`volmatch serve`): the unplaced volunteers' and the open slots' reasons are French,
rendered from the result's structured parts; the English page shows the result's own
text. Screenshot: coordinator-result-fr.png (docs/pages.md)."""

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

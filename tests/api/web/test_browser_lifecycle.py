"""After publication, in a real browser against a real `volmatch serve`: the
coordinator's Advice page follows a need's offers; a volunteer's decline recorded there
brings the backfill proposal at once (who gets an offer, the change in total score),
and Confirm makes its offers; a proposal that takes the engine longer (a rules round)
shows as being computed and appears without a reload. Screenshots:
docs/screenshots/coordinator-advice-offers.png, coordinator-advice-computing.png."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.service.helpers import Keys
from tests.api.service.lifecycle.helpers import KEY_ROLES, published
from tests.api.service.lifecycle.helpers import offers as offers_of
from tests.api.web.conftest import Served, WebServer
from volmatch.scenarios.demo import demo_round_path

pytestmark = pytest.mark.browser


def _shoot_part(page: Any, name: str) -> None:
    """The lifecycle part of the page only (`helpers.shoot` takes the whole page, here
    mostly the recommendations above it), when $VOLMATCH_SCREENSHOTS names a folder."""
    folder = os.environ.get("VOLMATCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.locator("#lifecycle").screenshot(path=str(Path(folder) / f"{name}.png"))


def _published_demo(served: Served) -> tuple[str, str, list[dict[str, Any]]]:
    """The demo round solved and published through the API: its id, a need with two
    offers or more, and that need's offers (the first accepted already)."""
    co = {"Authorization": f"Bearer {served.key('coordinator')}"}
    doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
    doc["policy"] = {"time_limit_s": 10}
    with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
        rid = c.post("/rounds", json={"name": "demo lifecycle", "document": doc}).json()["id"]
        end = time.monotonic() + 120
        while c.get(f"/rounds/{rid}").json()["status"] not in ("done", "failed", "cancelled"):
            assert time.monotonic() < end, "the demo round did not finish"
            time.sleep(0.2)
        assert c.post(f"/rounds/{rid}/publish").status_code == 201
        offers = c.get("/offers", params={"round": rid}).json()
        need = Counter(o["placement"] for o in offers).most_common(1)[0][0]
        here = [o for o in offers if o["placement"] == need]
        assert len(here) >= 2
        r = c.post(f"/offers/{here[0]['id']}/reply", json={"answer": "accept"})
        assert r.status_code == 200, r.text
    return rid, need, here


def test_the_advice_page_follows_offers_replies_and_backfill(served: Served, page: Any) -> None:
    rid, need, here = _published_demo(served)
    page.goto(f"{served.base}/sign-in")
    page.get_by_label("API key").fill(served.key("coordinator"))
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{served.base}/coordinator/rounds/{rid}/advice?placement={need}")
    offers = page.locator("#offers tbody tr")
    assert offers.count() == len(here)
    accepted = page.locator(f"#offers tr[data-offer='{here[0]['id']}']")
    assert "accepted" in accepted.inner_text()
    assert "No open proposal" in page.locator("#lifecycle").inner_text()

    row = page.locator(f"#offers tr[data-offer='{here[1]['id']}']")
    assert "offered" in row.inner_text()
    row.get_by_label("Reason, if declined").select_option("visa")
    row.get_by_label("Note (optional)").fill("no visa before the start date")
    row.get_by_role("button", name="Declined").click()
    part = page.locator("#lifecycle")
    assert "reply is recorded" in part.inner_text()
    replies = page.locator("#replies").inner_text()
    assert here[1]["volunteer"] in replies and "visa" in replies
    assert "declined" in page.locator(f"#offers tr[data-offer='{here[1]['id']}']").inner_text()
    proposal = page.locator("#proposal").inner_text()
    assert f"the decline of {here[1]['volunteer']} at {need}" in proposal
    assert "Total score proposed" in proposal and "Who gets an offer" in proposal
    _shoot_part(page, "coordinator-advice-offers")

    page.get_by_role("button", name="Confirm this proposal").click()
    assert "is confirmed" in page.locator("#lifecycle").inner_text()
    # The new offer stands at the need, open for an answer.
    states = page.locator("#offers td[data-label='State']").all_inner_texts()
    assert states.count("offered") >= 1 and len(states) == len(here) + 1
    # The coordinator's pages in French too.
    page.goto(f"{served.base}/coordinator/rounds/{rid}/advice?placement={need}&lang=fr")
    assert "Offres, réponses et remplacements" in page.locator("#lifecycle").inner_text()
    _shoot_part(page, "coordinator-advice-offers-fr")


ENGINE_DELAY_S = 5.0
"""How long the server's backfill runner waits before each proposal (its test hook):
longer than the page's own wait (2 s), as a rules round's solve is."""


@pytest.fixture(name="slow_served")
def slow_served_fixture(tmp_path: Path) -> Iterator[Served]:
    """A `volmatch serve` whose backfill proposals take `ENGINE_DELAY_S` to appear."""
    server = WebServer(tmp_path, env={"VOLMATCH_BACKFILL_TEST_DELAY_S": str(ENGINE_DELAY_S)})
    try:
        yield Served(server.base, server.db_url, server)
    finally:
        server.stop()


def test_a_proposal_being_computed_shows_so_then_appears_by_itself(
    slow_served: Served, page: Any
) -> None:
    keys = Keys(*(slow_served.key(r, h) for r, h in KEY_ROLES))
    with httpx.Client(base_url=slow_served.base, timeout=30) as c:
        c.keys = keys  # type: ignore[attr-defined]
        rid = published(c)
        v1 = offers_of(c, rid)["V1"]
    page.goto(f"{slow_served.base}/sign-in")
    page.get_by_label("API key").fill(keys.coordinator)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{slow_served.base}/coordinator/rounds/{rid}/advice?placement={v1['placement']}")
    row = page.locator(f"#offers tr[data-offer='{v1['id']}']")
    row.get_by_label("Reason, if declined").select_option("dates")
    row.get_by_role("button", name="Declined").click()
    computing = page.locator("#proposal-pending")
    assert "is being computed after the decline of V1" in computing.inner_text()
    assert "No open proposal" not in page.locator("#lifecycle").inner_text()
    _shoot_part(page, "coordinator-advice-computing")
    page.evaluate("window.stayed = true")  # gone if the page reloaded
    page.locator("#proposal").wait_for(timeout=30_000)
    assert page.evaluate("window.stayed === true"), "the proposal came with a reload"
    assert computing.count() == 0
    text = page.locator("#proposal").inner_text()
    assert "the decline of V1 at" in text and "Confirm this proposal" in text

"""The host partner's journey in a real browser (chromium through Playwright) against
`volmatch serve --demo`: open the demo's one-time link, add a need while the live line
counts who qualifies, see the need and its eligible count in the list; another host gets
the 404 page for it; after publication, the matched volunteers; the pages in French and
at a phone's width."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.api.web.conftest import Served
from tests.api.web.helpers import shoot
from volmatch.matching import compile_round, dense_pairs
from volmatch.models import Placement, Policy, Round, Volunteer
from volmatch.scenarios.demo import demo_round_path

pytestmark = pytest.mark.browser

NEED = {
    "id": "P900",
    "host": "H01",
    "country": "NP",
    "slots": 2,
    "start_earliest": "2027-05-01",
    "start_latest": "2027-07-30",
    "required_languages": {"en": "B2"},
    "required_skills": {"teaching": 2},
}


def _demo_count(need: dict[str, Any]) -> int:
    """Eligible demo volunteers for `need`, every rule checked on every pair."""
    doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
    pool = [
        Volunteer.model_validate({k: v for k, v in d.items() if k != "preferences"})
        for d in doc["volunteers"]
    ]
    r = Round(volunteers=pool, placements=[Placement.model_validate(need)], policy=Policy())
    return len(dense_pairs(compile_round(r)))


def _publish(served: Served) -> None:
    co = {"Authorization": f"Bearer {served.key('coordinator')}"}
    with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
        rid = c.post("/rounds", json={"name": "demo", "policy": {"time_limit_s": 10}}).json()["id"]
        end = time.monotonic() + 120
        while c.get(f"/rounds/{rid}").json()["status"] not in ("done", "failed", "cancelled"):
            assert time.monotonic() < end, "the demo round did not finish"
            time.sleep(0.2)
        assert c.post(f"/rounds/{rid}/publish").status_code == 201


def test_host_journey(demo_served: Served, browser: Any) -> None:
    base = demo_served.base
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    # The demo's one-time link: a button, then the host's needs.
    page.goto(demo_served.links["host"])
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/host/needs")
    assert "Host partner H01" in page.locator("header").inner_text()
    shoot(page, "host-needs")

    page.get_by_role("link", name="Add a need").first.click()
    page.wait_for_url(f"{base}/host/needs/new")
    page.get_by_label("Need id").fill(NEED["id"])
    page.get_by_label("Title").fill("English teacher")
    page.get_by_label("Country").select_option("NP")
    page.get_by_label("Volunteers needed").fill("2")
    page.get_by_label("Earliest start").fill(NEED["start_earliest"])
    page.get_by_label("Latest start").fill(NEED["start_latest"])
    page.locator("#required_skills-code-1").fill("teaching")
    page.locator("#required_skills-level-1").select_option("2")
    page.locator("#required_languages-code-1").select_option("en")
    page.locator("#required_languages-level-1").select_option("B2")
    # By keyboard: Add a row puts the focus in the new row, its Remove gives it back to
    # the row before (not to the page's top, where a keyboard user would start over).
    desired = page.locator("#desired_skills-rows")
    desired.locator("xpath=..").get_by_role("button", name="Add a row").press("Enter")
    assert desired.locator(".row").count() == 2
    assert page.evaluate("document.activeElement.name") == "desired_skills.code"
    desired.locator(".row").nth(1).get_by_role("button", name="Remove").press("Enter")
    assert desired.locator(".row").count() == 1
    assert page.evaluate("document.activeElement.id") == "desired_skills-code-1"
    page.get_by_label("What the community needs, and why now").fill(
        "Two village schools have no English teacher this year."
    )
    expected = _demo_count(NEED)
    line = page.locator("#feasibility")
    line.filter(has_text=f"{expected} volunteers of the 300").wait_for()
    shoot(page, "host-need-form")
    page.get_by_role("button", name="Save the need").click()
    page.wait_for_url(f"{base}/host/needs?saved=P900")
    row = page.locator("tr", has=page.get_by_role("link", name="P900: English teacher"))
    # the count is on the page, or filled in by app.js once the pool is built
    row.locator("td").last.filter(has_text=str(expected)).wait_for()
    assert row.locator("td").last.inner_text().strip() == str(expected)

    # Another host partner: the need does not exist for them.
    other = browser.new_context()
    other_page = other.new_page()
    other_page.goto(demo_served.sign_in_link(demo_served.key("host", "H02")))
    other_page.get_by_role("button", name="Continue").click()
    other_page.wait_for_url(f"{base}/host/needs")
    assert "P900" not in other_page.content()
    answer = other_page.goto(f"{base}/host/needs/P900")
    assert answer is not None and answer.status == 404
    assert other_page.get_by_role("heading", level=1).inner_text() == "Not found"
    other.close()

    # After publication: the volunteers matched to H01.
    _publish(demo_served)
    page.get_by_role("link", name="Matched volunteers").click()
    page.wait_for_url(f"{base}/host/matches")
    assert page.locator("tbody tr").count() > 0
    shoot(page, "host-matches")

    # French, and a phone's width.
    page.goto(f"{base}/host/needs/new?lang=fr")
    assert page.get_by_role("heading", level=1).inner_text() == "Nouveau besoin"
    shoot(page, "host-need-form-fr")
    # The API's field errors, in French beside the inputs.
    page.locator("#id").fill("P901")
    page.locator("#slots").fill("0")
    page.locator("#start_earliest").fill("2027-06-01")
    page.locator("#start_latest").fill("2027-05-01")
    page.locator("#sdg_targets").fill("4.1, 99.9")
    page.get_by_role("button", name="Enregistrer le besoin").click()
    errors = page.locator("#need-form .error").all_inner_texts()
    assert any("doit valoir au moins 1" in e for e in errors), errors
    assert any("précède le début au plus tôt" in e for e in errors), errors
    assert any("cibles des ODD" in e for e in errors), errors
    assert not any("should" in e or " is " in e for e in errors), errors
    shoot(page, "host-need-form-fr-errors")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/host/needs")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "host-needs-phone")
    context.close()


def test_my_needs_fills_in_its_counts_once_the_pool_is_built(tmp_path: Any, browser: Any) -> None:
    """A pool uploaded after the server started is not built when the host first looks:
    the list shows "updating", and app.js fills in each count (the independent count)
    once the server has built the pool, without a reload."""
    from tests.api.web.conftest import WebServer

    server = WebServer(tmp_path)
    try:
        served = Served(server.base, server.db_url, server)
        doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
        co = {"Authorization": f"Bearer {served.key('coordinator')}"}
        host = {"Authorization": f"Bearer {served.key('host', 'H01')}"}
        with httpx.Client(base_url=served.base, timeout=60) as c:
            r = c.post("/volunteers", json={"volunteers": doc["volunteers"]}, headers=co)
            assert r.status_code == 200, r.text
            assert c.post("/placements", json=NEED, headers=host).status_code == 201
        context = browser.new_context()
        page = context.new_page()
        page.goto(served.sign_in_link(host["Authorization"].split()[1]))
        page.get_by_role("button", name="Continue").click()
        page.wait_for_url(f"{served.base}/host/needs")
        cell = page.locator('[data-label="Eligible now"]').first
        page.get_by_role("status").filter(has_text="The counts are up to date.").wait_for()
        assert cell.inner_text().strip() == str(_demo_count(NEED))
        context.close()
    finally:
        server.stop()


def test_the_volunteers_offer_page_in_french_and_back(tmp_path: Any, browser: Any) -> None:
    """The personal link opened by a browser that prefers French shows the offer in
    French; the switch at its top goes to English and back; the answer is thanked in
    the language chosen."""
    from tests.api.web.conftest import WebServer

    server = WebServer(tmp_path)
    try:
        served = Served(server.base, server.db_url, server)
        doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
        co = {"Authorization": f"Bearer {served.key('coordinator')}"}
        with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
            r = c.post("/rounds", json={"name": "demo", "document": doc})
            assert r.status_code == 202, r.text
            rid = r.json()["id"]
            end = time.monotonic() + 120
            while c.get(f"/rounds/{rid}").json()["status"] != "done":
                assert time.monotonic() < end, "the round did not finish"
                time.sleep(0.2)
            assert c.post(f"/rounds/{rid}/publish").status_code == 201
            offer = c.get("/offers", params={"round": rid}).json()[0]
            link = c.post(f"/offers/{offer['id']}/link").json()["url"]
        context = browser.new_context(locale="fr-FR", extra_http_headers={"Accept-Language": "fr"})
        page = context.new_page()
        page.goto(f"{served.base}{link}")
        assert page.get_by_role("heading", level=1).inner_text() == "Votre offre d'affectation"
        assert page.get_by_label("J'accepte cette affectation").is_visible()
        shoot(page, "offer-reply-fr")
        page.get_by_role("link", name="English").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Your placement offer"
        page.get_by_role("link", name="Français").click()
        page.get_by_label("Je refuse cette affectation").check()
        page.get_by_label("Si vous refusez, pourquoi ?").select_option("dates")
        page.get_by_role("button", name="Envoyer ma réponse").click()
        page.get_by_role("heading", name="Merci").wait_for()
        assert "Vous avez refusé l'offre d'affectation" in page.get_by_role("status").inner_text()
        context.close()
    finally:
        server.stop()

"""The planner's journey in a real browser (chromium through Playwright) against a real
`volmatch serve`: sign in, pick the stored round, see a mistake placed on its line, add
a variant with the form, run a two-variant scenario, watch it finish and read the
comparison (KPI table with changes, the chart, who moved and why)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.api.service.helpers import held_scenario_run
from tests.api.web.conftest import Served
from tests.api.web.helpers import shoot
from volmatch.scenarios.demo import demo_round_path

pytestmark = pytest.mark.browser

SCENARIO = """\
name: Nepal and urgency
description: Does relaxing English for Nepal, or weighting urgency double, help?
seed: 7
variants:
  - name: urgent-double
    changes:
      - policy: {weights.priority: 400}
"""


def _stored_round(served: Served) -> str:
    doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
    co = {"Authorization": f"Bearer {served.key('coordinator')}"}
    with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
        r = c.post("/rounds", json={"name": "demo camp", "document": doc})
        assert r.status_code == 202, r.text
        return str(r.json()["id"])


def test_planner_runs_a_two_variant_scenario(served: Served, page: Any) -> None:
    rid = _stored_round(served)
    page.goto(f"{served.base}/sign-in")
    page.get_by_label("API key").fill(served.key("planner"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.base}/planner")
    shoot(page, "planner-rounds")
    page.locator(f'a[href="/planner/rounds/{rid}"]').click()
    page.wait_for_url(f"{served.base}/planner/rounds/{rid}")

    # A mistake comes back on its line, the text kept as typed.
    editor = page.get_by_label("Scenario (YAML)")
    editor.fill(
        SCENARIO.replace(
            "policy: {weights.priority: 400}",
            "update: volunteers\n        where: {colour: red}\n        set: {min_months: 7}",
        )
    )
    page.get_by_role("button", name="Check").click()
    alert = page.get_by_role("alert")
    assert "line 7" in alert.inner_text() and "colour" in alert.inner_text()
    shoot(page, "planner-editor-errors")

    # The form adds the second variant to the same YAML.
    page.get_by_label("Scenario (YAML)").fill(SCENARIO)
    page.get_by_label("In country (code)").fill("NP")
    page.get_by_label("Language (code)").fill("en")
    page.get_by_label("Ask at most").select_option("A2")
    page.get_by_role("button", name="Add this variant").nth(1).click()
    text = page.get_by_label("Scenario (YAML)").input_value()
    assert "np-en-A2" in text and "required_languages.en: A2" in text
    shoot(page, "planner-editor")

    page.get_by_role("button", name="Run the scenario").click()
    page.wait_for_url(f"{served.base}/planner/runs/*")
    # A worker solves the run; the bar follows its server-sent events and the page
    # opens the comparison at the end (with scripts on, nothing else reloads it).
    if page.locator("#run-progress").count():
        shoot(page, "planner-progress")
    page.get_by_role("heading", name="Key figures, each variant against the base").wait_for(
        timeout=120_000
    )
    table = page.locator("table.kpis")
    rows = table.locator("tbody tr")
    assert rows.count() == 3
    assert [rows.nth(i).locator("th").inner_text() for i in range(3)] == [
        "base",
        "urgent-double",
        "np-en-A2",
    ]
    assert "%" in rows.nth(1).inner_text()  # changes against the base are shown
    assert page.get_by_role("img", name="Bar charts of each variant").is_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.chart img')]"
        ".every(i => i.complete && i.naturalWidth > 0)",
        timeout=30_000,
    )
    assert page.get_by_role("heading", name="Who moved, and why").is_visible()
    shoot(page, "planner-comparison")
    first = page.locator("details.moves").first
    first.locator("summary").click()
    assert first.locator("tbody tr").first.is_visible()
    # On a phone: the page fits its width (wide tables scroll inside their own box).
    page.set_viewport_size({"width": 390, "height": 844})
    first.locator("summary").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "planner-comparison-phone")
    # In French, why each volunteer moved is French too (from the moves' parts).
    page.set_viewport_size({"width": 1100, "height": 800})
    english = page.locator("details.moves td[data-label='Why']").all_text_contents()
    page.goto(page.url.split("?")[0] + "?lang=fr")
    why = page.locator("details.moves td[data-label='Pourquoi']").all_text_contents()
    assert len(why) == len(english) > 0
    said = " ".join(why)
    assert any(w in said for w in ("maintenant à", "était à", "affecté·e à", "nouveau"))
    for start in ("now at ", "was at ", "placed at ", "new in this variant", "in the base: "):
        assert start not in said, start
    page.goto(page.url.split("?")[0] + "?lang=en")  # the cookie back to English


def test_planner_cancels_a_running_scenario_after_confirming(served: Served, page: Any) -> None:
    """Cancel asks first: dismissed, the run goes on; confirmed, the page says the run
    was cancelled (a run held by a worker elsewhere, so that it stays running)."""
    import uuid

    from volmatch.api.service.db import open_database

    rid = _stored_round(served)
    run_id = str(uuid.uuid4())
    db = open_database(served.db_url)
    try:
        with db.write() as s:
            s.add(held_scenario_run(run_id, rid, "long sweep", 3, 40))
    finally:
        db.dispose()
    page.goto(f"{served.base}/sign-in")
    page.get_by_label("API key").fill(served.key("planner"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.base}/planner")
    page.goto(f"{served.base}/planner/runs/{run_id}")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Cancel the run").click()
    assert asked and "Cancel this scenario run?" in asked[0]
    planner = {"Authorization": f"Bearer {served.key('planner')}"}
    page.wait_for_timeout(300)  # a form sent anyway would have arrived by now
    got = httpx.get(f"{served.base}/scenario-runs/{run_id}", headers=planner, timeout=30)
    assert got.json()["status"] == "running"
    assert page.get_by_role("button", name="Cancel the run").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel the run").click()
    page.get_by_text("This scenario run was cancelled").wait_for()
    got = httpx.get(f"{served.base}/scenario-runs/{run_id}", headers=planner, timeout=30)
    assert got.json()["status"] == "cancelled"

"""The coordinator's journey in a real browser (chromium through Playwright, against a
real `volmatch serve`): upload a workbook with an error, see the error row, fix it, run
a round and watch the progress bar finish, lock and forbid pairs from the table, re-run
with a move limit, see the moves, publish. And a result of 50,000 volunteers paged on
the server. Screenshots of each page go to $VOLMATCH_SCREENSHOTS (docs/pages.md)."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from benchmarks.cancel_bench import slow_rules_document
from tests.api.service.helpers import Server
from tests.api.web.conftest import Served
from tests.api.web.helpers import shoot
from tests.api.web.page_checks import assert_usable
from tests.helpers import big_round_and_result

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _PatientServer(Server):
    """A server given two minutes to start: the machine may be busy."""

    def start(self, timeout: float = 120) -> None:
        super().start(timeout)


@pytest.fixture(name="slow", scope="module")
def slow_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A server whose worker pauses 1.5 s as it starts solving: the progress page is
    seen before the end, as with a real round of thousands."""
    tmp = tmp_path_factory.mktemp("slow")
    url = f"sqlite:///{tmp / 'web.db'}"
    server = _PatientServer(
        url, tmp, env={"VOLMATCH_WORKER_TEST_DELAY_S": "1.5", "VOLMATCH_LOG_LEVEL": "WARNING"}
    )
    try:
        yield Served(server.base, url, server)
    finally:
        server.stop()


def _demo_workbooks() -> tuple[bytes, bytes]:
    """The demo round as a workbook, and the same with one bad cell (row 4's
    nationality)."""
    from openpyxl import load_workbook

    from volmatch.api.sheets import round_workbook_bytes
    from volmatch.models import parse_round
    from volmatch.scenarios.demo import demo_round_path

    doc = json.loads(demo_round_path().read_text(encoding="utf-8"))
    doc.pop("policy", None)
    good = round_workbook_bytes(parse_round(doc))
    wb = load_workbook(io.BytesIO(good))
    ws = wb["Volunteers"]
    header = [c.value for c in ws[1]]
    ws.cell(row=4, column=header.index("nationality") + 1, value="Atlantis")
    out = io.BytesIO()
    wb.save(out)
    return good, out.getvalue()


def _shot(page: Any, name: str) -> None:
    """`helpers.shoot`, of the first screenful only: a page of 50 rows is long."""
    shoot(page, name.removesuffix(".png"), full_page=False)


def _sign_in(page: Any, served: Served) -> None:
    page.goto(f"{served.base}/coordinator")
    page.get_by_label("API key").fill(served.key("coordinator"))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.base}/coordinator")


def _watch_round(page: Any) -> None:
    """On a round's progress page: the bar fills, then the result opens."""
    assert page.locator("#progress").is_visible()
    page.wait_for_function(
        "() => { const b = document.getElementById('bar'); return !b || b.value >= 100; }",
        timeout=60_000,
    )
    page.get_by_role("heading", level=1, name="Result:").first.wait_for(timeout=60_000)


def test_coordinator_journey(slow: Served, page: Any) -> None:
    good, bad = _demo_workbooks()
    _sign_in(page, slow)
    page.get_by_role("link", name="Pool").click()
    page.get_by_label("File").set_input_files(
        files=[{"name": "pool.xlsx", "mimeType": XLSX, "buffer": bad}]
    )
    page.get_by_role("button", name="Upload").click()
    error_rows = page.locator("tr.error-row")
    assert error_rows.count() == 1
    row = error_rows.first.inner_text()
    assert "Volunteers" in row and "row 4" in row and "nationality" in row
    assert "nothing was stored" in page.get_by_role("alert").inner_text()
    _shot(page, "coordinator-pool-errors.png")

    page.get_by_label("File").set_input_files(
        files=[{"name": "pool.xlsx", "mimeType": XLSX, "buffer": good}]
    )
    page.get_by_role("button", name="Upload").click()
    assert "Volunteers: 300 new" in page.get_by_role("status").inner_text()

    page.get_by_role("link", name="Dashboard").click()
    assert "300" in page.locator("#pool-h + p").inner_text()
    page.get_by_role("link", name="Run a round").first.click()
    page.get_by_label("Name").fill("spring 2027")
    _shot(page, "coordinator-run-round.png")
    page.get_by_role("button", name="Start the round").click()
    page.locator("#progress").wait_for()
    _shot(page, "coordinator-progress.png")
    _watch_round(page)
    first_round = page.url
    _shot(page, "coordinator-result.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_usable(page)  # on a phone: the rows stacked, no sideways scrolling
    page.set_viewport_size({"width": 1100, "height": 800})

    # sort by score (highest first on the first click): the server sorts all rows, the
    # page shows 50
    page.get_by_role("link", name="Score").click()
    scores = [int(s) for s in page.locator("#assignments td[data-label='Score']").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and len(scores) == 50
    # lock the best pair, forbid the second: its volunteer has to move
    rows = page.locator("#assignments tbody tr")
    second = rows.nth(1).locator("td").first.inner_text()
    rows.nth(0).get_by_role("link", name="Lock").click()
    page.locator("#assignments tbody tr").nth(1).get_by_role("link", name="Forbid").click()
    pending = page.locator("#pending").inner_text()
    assert "lock" in pending and f"forbid {second}" in pending
    page.get_by_label("At most this many people moved").fill("3")
    page.get_by_role("button", name="Re-run").click()
    _watch_round(page)
    moves = page.locator("#moves").inner_text()
    assert second in moves
    assert "at most 3 allowed" in page.locator("#moves-h").inner_text()
    _shot(page, "coordinator-rerun-moves.png")

    page.get_by_role("button", name="Publish this result").click()
    assert "Published" in page.get_by_role("status").first.inner_text()

    page.goto(first_round)
    page.locator("#unmatched a").first.click()
    page.get_by_role("heading", level=1).wait_for()
    assert "qualify for" in page.content()
    _shot(page, "coordinator-explain.png")
    page.goto(first_round)
    page.locator("#open-slots").get_by_role("link", name="Advice").first.click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Advice for need")
    _shot(page, "coordinator-advice.png")
    page.goto(f"{slow.base}/coordinator")
    _shot(page, "coordinator-dashboard.png")
    page.set_viewport_size({"width": 390, "height": 844})
    assert_usable(page)


CANCELLED_WITHIN_MS = 15_000
"""How long the page may take to say a cancelled round was cancelled: about a second
(the worker sees the cancel within half a second, and the solve stops mid-search) plus
the page's reload; generous for a loaded machine, far below the round's 120 s limit."""


def test_coordinator_cancels_a_round_mid_solve(served: Served, page: Any) -> None:
    """A round under policy rules that would solve for its whole 120 s time limit:
    Cancel the round on its progress page stops it, and the page says it was cancelled
    within seconds; the round has no result."""
    import time

    import httpx

    co = {"Authorization": f"Bearer {served.key('coordinator')}"}
    doc = slow_rules_document(volunteers=300, time_limit_s=120)
    with httpx.Client(base_url=served.base, headers=co, timeout=60) as c:
        r = c.post("/rounds", json={"name": "long rules round", "document": doc})
        assert r.status_code == 202, r.text
        rid = str(r.json()["id"])
        _sign_in(page, served)
        page.goto(f"{served.base}/coordinator/rounds/{rid}")
        end = time.monotonic() + 60
        while c.get(f"/rounds/{rid}").json()["status"] != "running":
            assert time.monotonic() < end, "the round was never claimed"
            time.sleep(0.05)
        page.wait_for_timeout(1500)  # into the rules' search
        assert page.locator("#progress").is_visible()
        _shot(page, "coordinator-round-running.png")
        t0 = time.monotonic()
        page.get_by_role("button", name="Cancel the round").click()
        page.get_by_text("This round was cancelled.").wait_for(timeout=CANCELLED_WITHIN_MS)
        took = time.monotonic() - t0
        _shot(page, "coordinator-round-cancelled.png")
        state = c.get(f"/rounds/{rid}").json()
        assert state["status"] == "cancelled" and state["progress"]["stage"] == "cancelled"
        assert state["progress"]["elapsed_s"] < 60, state["progress"]
        assert c.get(f"/rounds/{rid}/result").status_code == 409
    assert took < CANCELLED_WITHIN_MS / 1000


def test_fifty_thousand_rows_are_paged_on_the_server(served: Served, page: Any) -> None:
    from volmatch.api.service.db import open_database
    from volmatch.api.service.tables import Job, ResultRow, RoundRow

    doc, result = big_round_and_result(50_000, 10_000)
    rid = uuid.uuid4().hex
    db = open_database(served.db_url)
    try:
        with db.write() as s:
            s.add(
                RoundRow(
                    id=rid,
                    name="fifty thousand",
                    source="document",
                    created_by="test",
                    n_volunteers=50_000,
                    n_placements=10_000,
                    document=doc,
                )
            )
            s.flush()
            s.add(Job(round_id=rid, status="done", progress={"stage": "done"}, attempts=1))
            s.add(ResultRow(round_id=rid, result=result, worker="test"))
    finally:
        db.dispose()
    _sign_in(page, served)
    page.goto(f"{served.base}/coordinator/rounds/{rid}?sort=-volunteer&page=900")
    assert "45000 assignments, page 900 of 900" in page.locator("#asg-count").inner_text()
    cells = page.locator("#assignments td[data-label='Volunteer']").all_inner_texts()
    assert len(cells) == 50 and cells[-1] == "V000000"
    page.get_by_label("Country").select_option("KE")
    page.get_by_label("Priority").select_option("2")
    page.get_by_role("button", name="Show").click()
    n = sum(
        1
        for a in result["assignments"]
        if (p := int(a["placement"][1:])) % 8 == 1 and 1 + p % 5 == 2
    )
    assert f"{n} assignments, page 1" in page.locator("#asg-count").inner_text()
    assert set(page.locator("#assignments td[data-label='Country']").all_inner_texts()) == {"KE"}
    page.get_by_role("link", name="next").first.click()
    assert "page 2 of" in page.locator("#asg-count").inner_text()
    # Every pair of this round is eligible (500 million, over the pair limit): a host's
    # live line on it is never built (a server doing so grew to 20 GB and was killed);
    # the advice is refused as unavailable, the line counts against the pool, and the
    # server keeps answering.
    import httpx

    host = {"Authorization": f"Bearer {served.key('host', 'H01')}"}
    draft = {**big_round_and_result(1, 1)[0]["placements"][0], "id": "D1", "host": "H01"}
    r = httpx.post(f"{served.base}/placements/feasibility", json=draft, headers=host, timeout=120)
    assert r.status_code == 422 and "advice is unavailable" in r.text, r.text
    assert "500,000,000 candidate" in r.text
    assert httpx.get(f"{served.base}/health", timeout=10).status_code == 200
    assert served.server.proc.poll() is None

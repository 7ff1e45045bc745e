"""The service and a round over the pair limit (`Settings.max_round_pairs`): refused
with a 422 naming its pairs when submitted; stored before the limit was lowered (or
loaded into the database by hand), its advice is a 422 saying it is unavailable, a
host's live line counts against the stored pool instead, the refusal is logged without
personal data, and the service keeps answering."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.api.service import helpers as h
from tests.api.web.helpers import csrf_of, sign_in
from volmatch.matching.pair_limit import PAIR_LIMIT_SETTING, pair_limit


def test_a_round_over_the_limit_is_refused_when_submitted(db: Any) -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    before = pair_limit()
    app = create_app(h.settings_for(db.url, max_round_pairs=3))
    with TestClient(app) as c:
        assert pair_limit() == 3
        co = h.make_keys(app).auth("coordinator")
        r = c.post("/rounds", json={"document": h.round_doc()}, headers=co)
        assert r.status_code == 422, r.text
        text = r.text.replace(",", "")
        assert "candidate (volunteer placement) pairs over the limit of 3" in text
        assert PAIR_LIMIT_SETTING in r.text
        assert c.get("/rounds", headers=co).json() == []  # nothing stored
    assert pair_limit() == before  # a stopped app puts the process's limit back


@h.SQLITE_ONLY
def test_a_stored_round_over_the_limit_leaves_the_service_up(
    db: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(h.settings_for(db.url))
    with TestClient(app) as c:
        c.keys = h.make_keys(app)  # type: ignore[attr-defined]
        h.seed(c)
        rid = h.solved_round(c)
    # The same database served with a limit the stored round is over: its advice base
    # is built from the database (at start and on request), and refused.
    app = create_app(h.settings_for(db.url, max_round_pairs=1, log_level="INFO"))
    with caplog.at_level(logging.INFO), TestClient(app, follow_redirects=False) as c:
        keys = h.make_keys(app)
        h1 = keys.auth("host1")
        r = c.get("/placements/P1/feasibility", headers=h1)
        assert r.status_code == 422, r.text
        assert "advice is unavailable" in r.text and rid in r.text
        co = keys.auth("coordinator")
        r = c.get("/placements/P1/recommendations", headers=co)
        assert r.status_code == 422, r.text
        # Its explanations come from the arrays stored with its result (bounded when it
        # was solved), or where a pricing is needed, the same 422.
        r = c.get(f"/rounds/{rid}/explain", params={"volunteer": "V1"}, headers=co)
        assert r.status_code in (200, 422), r.text
        # The coordinator's advice page is not "being prepared" for ever: it says why.
        coordinator = TestClient(app, follow_redirects=False)
        sign_in(coordinator, keys.coordinator)
        ready = coordinator.get(f"/coordinator/rounds/{rid}/advice-ready")
        assert ready.json()["ready"] is True
        page = coordinator.get(f"/coordinator/rounds/{rid}/advice", params={"placement": "P1"})
        assert page.status_code == 422
        assert "advice is unavailable" in page.text and "<h1>" in page.text
        sign_in(c, keys.host1)
        form = c.get("/host/needs/new")
        token = {"X-CSRF-Token": csrf_of(form.text)}
        data = {
            "title": "Teacher",
            "country": "NP",
            "slots": "1",
            "priority": "3",
            "security_level": "0",
            "start_earliest": "2027-04-01",
            "start_latest": "2027-05-01",
            "min_months": "6",
            "max_months": "12",
        }
        import time

        deadline = time.monotonic() + 60
        while True:
            line = c.post("/host/needs/check", data=data, headers=token)
            assert line.status_code == 200, line.text
            if line.json()["state"] != "updating":
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert line.json()["state"] in {"none", "few", "ok"}  # counted against the pool
        assert c.get("/health").status_code == 200
        assert c.get("/host/needs").status_code == 200
    refusals = [rec for rec in caplog.records if "pair limit" in rec.getMessage()]
    assert refusals and getattr(refusals[0], "round", None) == rid
    logged = "\n".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records)
    for v in h.volunteers():
        assert v.get("name", "\0") not in logged

"""A round's progress page says what the round is doing: waiting for a worker while
queued, solving once claimed, cancelling as soon as Cancel is pressed (the worker stops
at its next heartbeat), in the page's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.service.helpers import make_keys, round_doc, settings_for
from tests.api.web.helpers import csrf_of, sign_in


@pytest.fixture(name="idle")
def idle_fixture(tmp_path: Path) -> Iterator[Any]:
    """The app without its embedded worker: a round stays queued until told otherwise."""
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(f"sqlite:///{tmp_path / 'web.db'}", embedded_worker=False))
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        c.keys = make_keys(app)  # type: ignore[attr-defined]
        yield c


def _label(page: str) -> str:
    return page.split('id="bar-label">')[1].split("</label>")[0]


def test_the_heading_follows_the_stage_and_cancel_says_so_at_once(idle: Any) -> None:
    from volmatch.api.service.tables import Job

    co = idle.keys.auth("coordinator")
    r = idle.post("/rounds", json={"name": "r", "document": round_doc()}, headers=co)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert sign_in(idle, idle.keys.coordinator).status_code == 303
    page = idle.get(f"/coordinator/rounds/{rid}").text
    assert _label(page) == "Waiting for a worker" and "Stage: queued" in page
    with idle.app.state.db.write() as s:  # a worker claims it
        job = s.get(Job, rid)
        job.status, job.progress = "running", {"stage": "solve"}
    page = idle.get(f"/coordinator/rounds/{rid}").text
    assert _label(page) == "Solving" and 'data-solving-label="Solving"' in page
    r = idle.post(f"/coordinator/rounds/{rid}/cancel", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    page = idle.get(r.headers["location"]).text
    assert _label(page) == "Cancelling…"
    assert '<button type="submit" class="danger" disabled>' in page
    page = idle.get(f"/coordinator/rounds/{rid}?lang=fr").text
    assert _label(page) == "Annulation en cours…"

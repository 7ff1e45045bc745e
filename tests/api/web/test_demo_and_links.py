"""`volmatch serve --demo` (the demo pool into an empty database, a sign-in link per
role, nothing reloaded over existing records) and `volmatch keys create --link`; the
housekeeping's purge of ended sessions and links."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from tests.api.web.conftest import Served
from volmatch.api.cli import app as cli
from volmatch.api.service.db import open_database
from volmatch.api.service.tables import (
    ApiKey,
    Host,
    PlacementRow,
    SignInLink,
    VolunteerRow,
    WebSession,
)


def _follow_link(base: str, link: str) -> httpx.Response:
    """Open a sign-in link and press its button, as a browser would."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as c:
        page = c.get(link)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        return c.post(link, data={"csrf_token": token.group(1)})


def test_serve_demo_loads_the_pool_and_prints_a_link_per_role(demo_served: Served) -> None:
    assert "loaded the demo pool" in demo_served.server.log
    assert set(demo_served.links) == {"coordinator", "host", "planner"}
    db = open_database(demo_served.db_url)
    try:
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(VolunteerRow)) == 300
            assert s.scalar(select(func.count()).select_from(PlacementRow)) >= 96
            assert s.get(Host, "H01").name != "H01"  # named after the needs assessment
            labels = {k.label: k.role for k in s.scalars(select(ApiKey))}
    finally:
        db.dispose()
    assert {"demo coordinator", "demo host", "demo planner"} <= set(labels)
    # The coordinator's link (the host's is used by the browser journey).
    r = _follow_link(demo_served.base, demo_served.links["coordinator"])
    assert r.status_code == 303 and r.headers["location"] == "/coordinator"
    assert "volmatch_session=" in r.headers["set-cookie"]


def test_demo_loads_nothing_over_existing_records_and_reuses_its_keys(tmp_path: Path) -> None:
    from volmatch.api.service.db import migrate
    from volmatch.api.web.demo import demo_links, load_demo_pool

    db = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        migrate(db)
        with db.write() as s:
            assert load_demo_pool(s)
            first = demo_links(s, 1.0)
        with db.write() as s:
            assert not load_demo_pool(s)
            second = demo_links(s, 1.0)
            keys = s.scalar(select(func.count()).select_from(ApiKey))
            links = s.scalar(select(func.count()).select_from(SignInLink))
    finally:
        db.dispose()
    assert first != second and keys == 3 and links == 6


def test_keys_create_link_prints_a_link_that_signs_in_once(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tests.api.service.helpers import settings_for
    from volmatch.api.service import create_app

    url = f"sqlite:///{tmp_path / 'k.db'}"
    out = CliRunner().invoke(
        cli,
        [
            "keys",
            "create",
            "--role",
            "host",
            "--host-id",
            "H05",
            "--link",
            "--base-url",
            "http://testserver/",
            "--db",
            url,
        ],
    )
    assert out.exit_code == 0, out.output
    key, link = out.stdout.split()
    assert key.startswith("vm_") and link.startswith("http://testserver/sign-in/link/")
    app = create_app(settings_for(url))
    with TestClient(app, follow_redirects=False) as c:
        for expected in (303, 410):
            page = c.get(link)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            r = c.post(link, data={"csrf_token": token.group(1) if token else ""})
            assert r.status_code == expected
            if expected == 303:
                assert "Host partner H05" in c.get("/host/needs").text
                c.cookies.clear()


def test_housekeeping_purges_ended_sessions_and_links(web: Any) -> None:
    from tests.api.web.helpers import sign_in
    from volmatch.api.web.session import create_link, purge_sessions

    sign_in(web, web.keys.host1)
    sign_in(web, web.keys.host2)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with web.app.state.db.write() as s:
        create_link(s, web.keys.host1.split("_")[1], 1.0)
        create_link(s, web.keys.host2.split("_")[1], 1.0)
        first = s.scalars(select(WebSession.id).order_by(WebSession.created_at)).first()
        s.execute(update(WebSession).where(WebSession.id == first).values(expires_at=past))
        s.execute(
            update(SignInLink)
            .where(SignInLink.key_id == web.keys.host2.split("_")[1])
            .values(expires_at=past)
        )
    with web.app.state.db.write() as s:
        assert purge_sessions(s) == 2
        assert s.scalar(select(func.count()).select_from(WebSession)) == 1
        assert s.scalar(select(func.count()).select_from(SignInLink)) == 1
    assert web.get("/host/needs").status_code == 200  # the live session is untouched

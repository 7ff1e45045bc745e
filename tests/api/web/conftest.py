"""Fixtures of the web page tests (shared by every role's pages):

- `web`: a started app on a fresh SQLite database with a key per role (`web.keys`), for
  the fast tests through Starlette's TestClient;
- `served`: one real `volmatch serve` subprocess for the whole session, on a temporary
  SQLite database, with `served.key(role, host_id)` to make keys in it;
- `browser` / `page`: Debian's chromium driven by Playwright (skipped, with the reason,
  where chromium or Playwright is absent; CI installs both).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.api.service.helpers import Server, make_keys, settings_for

CHROMIUM = os.environ.get("VOLMATCH_TEST_CHROMIUM", "/usr/bin/chromium")
"""The browser the tests drive: Debian's package (Playwright's own builds cannot be
downloaded here)."""


@pytest.fixture(name="web")
def web_fixture(tmp_path: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from volmatch.api.service import create_app

    app = create_app(settings_for(f"sqlite:///{tmp_path / 'web.db'}"))
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        c.keys = make_keys(app)  # type: ignore[attr-defined]
        yield c


@dataclass
class Served:
    """A running `volmatch serve`: its base URL, its database URL, and its process."""

    base: str
    db_url: str
    server: Any
    made: list[str] = field(default_factory=list)

    def key(self, role: str, host_id: str | None = None) -> str:
        """A new API key of `role` (and host) in the server's database."""
        from volmatch.api.service.auth import create_key
        from volmatch.api.service.db import open_database

        db = open_database(self.db_url)
        try:
            with db.write() as s:
                token = create_key(s, role, host_id)[1]
        finally:
            db.dispose()
        self.made.append(token)
        return token

    def sign_in_link(self, token: str) -> str:
        """A one-time sign-in link for the key `token`."""
        from volmatch.api.service.db import open_database
        from volmatch.api.web.session import create_link

        db = open_database(self.db_url)
        try:
            with db.write() as s:
                link = create_link(s, token.split("_")[1], 1.0)
        finally:
            db.dispose()
        return f"{self.base}/sign-in/link/{link}"


@pytest.fixture(name="served", scope="session")
def served_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    url = f"sqlite:///{tmp / 'web.db'}"
    server = Server(url, tmp)
    try:
        yield Served(server.base, url, server)
    finally:
        server.stop()


@pytest.fixture(name="browser", scope="session")
def browser_fixture() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no chromium at {CHROMIUM} (CI installs Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(name="page")
def page_fixture(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page, phone-friendly default width."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()

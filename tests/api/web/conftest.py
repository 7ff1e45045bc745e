"""Fixtures of the web page tests (shared by every role's pages):

- `web`: a started app on a fresh SQLite database with a key per role (`web.keys`), for
  the fast tests through Starlette's TestClient;
- `served`: one real `volmatch serve` subprocess for the whole session, on a temporary
  SQLite database, with `served.key(role, host_id)` to make keys in it;
- `demo_served`: another one started with `--demo` (the demo pool loaded, a sign-in link
  per role in `demo_served.links`);
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

from tests.api.service.helpers import answers_health, free_port, make_keys, settings_for

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


class WebServer:
    """A real `volmatch serve` subprocess on a temporary SQLite database; its stderr goes
    to a file (a pipe nobody reads would fill up and stall the server)."""

    def __init__(self, folder: Path, *args: str, env: dict[str, str] | None = None) -> None:
        import subprocess
        import sys

        self.db_url = f"sqlite:///{folder / 'web.db'}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "serve.log"
        extra = env or {}
        env = {**os.environ, "VOLMATCH_POLL_S": "0.05", "VOLMATCH_LOG_LEVEL": "WARNING", **extra}
        env.pop("VOLMATCH_DB_URL", None)
        exe = str(Path(sys.executable).with_name("volmatch"))
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [exe, "serve", "--port", str(self.port), "--db", self.db_url, *args],
                cwd=folder,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        if not answers_health(self.base, self.proc, 60):
            self.stop()
            raise AssertionError(f"the server did not start:\n{self.log}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@dataclass
class Served:
    """A running `volmatch serve`: its base URL, its database URL, and its process."""

    base: str
    db_url: str
    server: WebServer
    links: dict[str, str] = field(default_factory=dict)

    def key(self, role: str, host_id: str | None = None) -> str:
        """A new API key of `role` (and host) in the server's database."""
        from volmatch.api.service.auth import create_key
        from volmatch.api.service.db import open_database

        db = open_database(self.db_url)
        try:
            with db.write() as s:
                return create_key(s, role, host_id)[1]
        finally:
            db.dispose()

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
    server = WebServer(tmp_path_factory.mktemp("served"))
    try:
        yield Served(server.base, server.db_url, server)
    finally:
        server.stop()


@pytest.fixture(name="demo_served", scope="session")
def demo_served_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    import re

    server = WebServer(tmp_path_factory.mktemp("demo"), "--demo")
    try:
        links = dict(
            re.findall(r"^\s+(coordinator|host|planner)\s+(http\S+)$", server.log, re.MULTILINE)
        )
        yield Served(server.base, server.db_url, server, links)
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
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
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

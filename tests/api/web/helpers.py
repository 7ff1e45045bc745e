"""Helpers of the web page tests: sign a TestClient in, read a page's CSRF token."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(c: Any, key: str, next_path: str = "") -> Any:
    """Sign the client in with `key` through the sign-in form; return the answer."""
    form = c.get("/sign-in")
    assert form.status_code == 200, form.text
    return c.post(
        "/sign-in", data={"key": key, "csrf_token": csrf_of(form.text), "next": next_path}
    )


def shoot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Check that the page shown is usable (`page_checks.assert_usable`), and take a
    screenshot of it as `$VOLMATCH_SCREENSHOTS/name.png` when that variable names a
    folder (`VOLMATCH_SCREENSHOTS=docs/screenshots pytest tests/api/web` renews the
    README's pictures); none otherwise, so that test runs leave the tree alone."""
    from tests.api.web.page_checks import assert_usable

    assert_usable(page)
    folder = os.environ.get("VOLMATCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def counts_ready(c: Any, timeout: float = 60.0) -> dict[str, int]:
    """Wait until My needs' eligible counts are built (the page shows "updating" and
    app.js asks `/host/eligible-counts` until then); the counts by need id."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        doc = c.get("/host/eligible-counts").json()
        if doc["ready"]:
            return dict(doc["eligible"])
        assert time.monotonic() < deadline, "the counts were not built in time"
        time.sleep(0.02)

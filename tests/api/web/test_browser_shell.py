"""The shell in a real browser: sign in by pasting a key, the navigation of the role,
the language switch, sign-out (chromium through Playwright, against `volmatch serve`)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.web.conftest import Served

pytestmark = pytest.mark.browser


def test_sign_in_switch_language_and_sign_out(served: Served, page: Any) -> None:
    key = served.key("host", "H07")
    page.goto(f"{served.base}/host/needs")
    assert page.url.startswith(f"{served.base}/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.base}/host/needs")
    assert page.get_by_role("heading", level=1).inner_text() == "My needs"
    page.get_by_role("link", name="Français").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Mes besoins"
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{served.base}/sign-in")
    page.goto(f"{served.base}/host/needs")
    assert page.url.startswith(f"{served.base}/sign-in")

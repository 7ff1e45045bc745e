"""Sign-in by API key or one-time link, sessions (cookie flags, expiry, revoked keys,
sign-out), CSRF rejection, the 404 page, the language switch."""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

from sqlalchemy import update

from tests.api.web.helpers import csrf_of, sign_in
from volmatch.api.service.tables import WebSession


def test_a_page_without_a_session_sends_to_sign_in_and_back(web: Any) -> None:
    r = web.get("/host/needs")
    assert r.status_code == 303
    assert r.headers["location"] == "/sign-in?next=/host/needs"
    r = sign_in(web, web.keys.host1, next_path="/host/needs")
    assert r.status_code == 303 and r.headers["location"] == "/host/needs"
    cookie = r.headers["set-cookie"]
    assert "volmatch_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = web.get("/host/needs")
    assert page.status_code == 200
    assert "My needs" in page.text and "H01" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_home_sends_each_role_to_its_pages(web: Any) -> None:
    assert web.get("/").headers["location"] == "/sign-in"
    sign_in(web, web.keys.coordinator)
    assert web.get("/").headers["location"] == "/coordinator"


def test_a_wrong_key_is_refused_beside_the_field(web: Any) -> None:
    r = sign_in(web, "vm_nothere_nosecret")
    assert r.status_code == 401
    assert "unknown, revoked or expired" in r.text
    assert 'aria-invalid="true"' in r.text
    assert "volmatch_session" not in r.headers.get("set-cookie", "")
    assert "vm_nothere_nosecret" not in r.text  # a pasted key is never echoed back


def test_sign_in_without_its_csrf_token_is_refused(web: Any) -> None:
    web.get("/sign-in")
    r = web.post("/sign-in", data={"key": web.keys.host1})
    assert r.status_code == 403
    assert "Nothing was changed" in r.text
    assert web.get("/host/needs").status_code == 303  # not signed in


def test_sign_out_needs_the_session_token_and_ends_the_session(web: Any) -> None:
    sign_in(web, web.keys.host1)
    page = web.get("/host/needs")
    r = web.post("/sign-out", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert web.get("/host/needs").status_code == 200  # still signed in
    old = dict(web.cookies)
    r = web.post("/sign-out", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in"
    assert web.get("/host/needs").status_code == 303
    web.cookies.update(old)  # the old cookie is worth nothing now
    assert web.get("/host/needs").status_code == 303


def test_an_expired_session_sends_to_sign_in(web: Any) -> None:
    sign_in(web, web.keys.host1)
    assert web.get("/host/needs").status_code == 200
    with web.app.state.db.write() as s:
        s.execute(
            update(WebSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    r = web.get("/host/needs")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")
    assert "Your session has ended" in web.get(r.headers["location"]).text
    web.cookies.clear()  # a browser that never signed in is not told so
    assert "Your session has ended" not in web.get("/sign-in").text


def test_revoking_the_key_ends_its_sessions(web: Any) -> None:
    from volmatch.api.service.auth import revoke_key

    sign_in(web, web.keys.host1)
    with web.app.state.db.write() as s:
        revoke_key(s, web.keys.host1.split("_")[1])
    assert web.get("/host/needs").status_code == 303


def test_a_one_time_link_signs_in_once(web: Any) -> None:
    from volmatch.api.web.session import create_link

    with web.app.state.db.write() as s:
        token = create_link(s, web.keys.host2.split("_")[1], 1.0)
    page = web.get(f"/sign-in/link/{token}")
    assert page.status_code == 200  # a GET (a link preview) does not use it up
    r = web.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303 and r.headers["location"] == "/host/needs"
    assert "H02" in web.get("/host/needs").text
    web.cookies.clear()
    page = web.get(f"/sign-in/link/{token}")
    r = web.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 410
    assert "used already or has expired" in r.text


def test_an_expired_link_signs_no_one_in(web: Any) -> None:
    from volmatch.api.service.tables import SignInLink
    from volmatch.api.web.session import create_link

    with web.app.state.db.write() as s:
        token = create_link(s, web.keys.host1.split("_")[1], 1.0)
        s.execute(
            update(SignInLink).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    page = web.get(f"/sign-in/link/{token}")
    r = web.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 410


def test_pages_of_another_role_and_unknown_pages_are_the_404_page(web: Any) -> None:
    sign_in(web, web.keys.host1)
    for path in ("/coordinator", "/planner", "/host/nothing-here"):
        r = web.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"]
        assert "Not found" in r.text
    # The API's own 404s stay JSON.
    r = web.get("/placements/NOPE", headers=web.keys.auth("host1"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert web.get("/no-such-api-path").headers["content-type"] == "application/json"


def test_a_coordinator_does_not_see_host_pages(web: Any) -> None:
    sign_in(web, web.keys.coordinator)
    assert web.get("/host/needs").status_code == 404


def test_french_from_the_switch_the_cookie_and_the_browser(web: Any) -> None:
    r = web.get("/sign-in?lang=fr")
    assert '<html lang="fr">' in r.text and "Se connecter" in r.text
    assert "volmatch_lang=fr" in r.headers["set-cookie"]
    assert "Se connecter" in web.get("/sign-in").text  # remembered by the cookie
    web.cookies.clear()
    r = web.get("/sign-in", headers={"Accept-Language": "fr-SN,fr;q=0.9,en;q=0.5"})
    assert "Se connecter" in r.text
    r = web.get("/sign-in", headers={"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en">' in r.text


def test_pages_stay_out_of_the_api_document(web: Any) -> None:
    paths = web.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/sign", "/host/", "/static"))]
    assert "/" not in paths


def test_sign_in_goes_back_only_to_a_path_of_this_site(web: Any) -> None:
    for bad in (
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
        "https://e.x/",
        "/host/needs\r\nSet-Cookie: x=1",
    ):
        web.cookies.clear()
        r = sign_in(web, web.keys.host1, next_path=bad)
        assert r.status_code == 303 and r.headers["location"] == "/host/needs", bad
    web.cookies.clear()
    r = sign_in(web, web.keys.host1, next_path="/host/needs/new?lang=fr")
    assert r.headers["location"] == "/host/needs/new?lang=fr"


def test_a_sign_in_links_secret_is_not_logged(web: Any) -> None:
    """The link's token signs its holder in: like a key, it never reaches the logs."""
    from volmatch.api.service.logs import LOGGER, JsonFormatter
    from volmatch.api.web.session import create_link

    with web.app.state.db.write() as s:
        token = create_link(s, web.keys.host2.split("_")[1], 1.0)
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.setFormatter(JsonFormatter())
    service_log = logging.getLogger(LOGGER)
    level = service_log.level
    service_log.addHandler(handler)
    service_log.setLevel(logging.INFO)
    try:
        page = web.get(f"/sign-in/link/{token}")
        web.post(f"/sign-in/link/{token}", data={"csrf_token": csrf_of(page.text)})
    finally:
        service_log.removeHandler(handler)
        service_log.setLevel(level)
    logged = buf.getvalue()
    assert logged.count("/sign-in/link/***") == 2  # both requests logged, the secret masked
    assert token not in logged

"""The pages' error answers: the sign-in page for a browser without a session, the 404
page (also for a page of another role or another host's record, exactly as the API
answers 404), the 403 page for a form without its CSRF token."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from volmatch.api.web.render import render


class SignInRequired(Exception):
    """No live session: the browser is sent to the sign-in page, then back."""


class PageNotFound(Exception):
    """No such page or record for this user (the same answer whether it exists for
    someone else or not at all)."""


class CsrfRejected(Exception):
    """A form or a page request that changes something came without the CSRF token of
    its session."""


PAGE_PREFIXES = ("/host/", "/coordinator", "/planner", "/sign-in", "/static/")
"""Paths that belong to the pages: an unknown one among them gets the 404 page, not the
API's JSON."""


def is_page_path(path: str) -> bool:
    return path == "/host" or path.startswith(PAGE_PREFIXES)


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%?=&+,;:@-]*")
"""A path of this site: one slash, then no slash or backslash (`//host` and `/\\host`
lead elsewhere), and only URL characters (browsers drop tabs and newlines, so
`/<tab>/host` would also lead elsewhere)."""


def local_path(value: object) -> str:
    """`value` when it is a path of this site (at most 500 characters), else ''."""
    if isinstance(value, str) and len(value) <= 500 and _LOCAL_PATH.fullmatch(value):
        return value
    return ""


def _local(path: str) -> str:
    return local_path(path) or "/"


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/sign-in?next={quote(_local(target), safe='/')}", 303)


def install_page_errors(app: FastAPI) -> None:
    """The pages' handlers; an unknown page path gets the 404 page, while every other
    HTTP error keeps the API's JSON answer."""
    api_http = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(PageNotFound)
    async def _not_found(request: Request, _: PageNotFound) -> Response:
        return render(
            request, "404.html", status=404, user=getattr(request.state, "page_user", None)
        )

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        return render(
            request, "403.html", status=403, user=getattr(request.state, "page_user", None)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 404 and is_page_path(request.url.path):
            return render(
                request, "404.html", status=404, user=getattr(request.state, "page_user", None)
            )
        assert api_http is not None
        return await api_http(request, exc)  # type: ignore[misc]

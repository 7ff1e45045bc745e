"""Rendering pages: one Jinja2 environment (autoescaped) and `render(request, name,
**context)`, which adds what every page needs: the translation functions of the page's
language, the signed-in user and their CSRF token, the navigation of their role, the
language switch, and the headers every page is sent with."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from volmatch.api.web.i18n import LANG_COOKIE, LANGUAGES, page_language, translator
from volmatch.api.web.nav import nav_for

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE_DAYS = 365
"""The language picked with `?lang=` is remembered for a year (it is no personal data)."""

PAGE_HEADERS = {
    # Everything is served from here: no inline scripts, no frames, no foreign hosts.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    # Sign-in links carry a token in their path: never send it on to another site.
    "Referrer-Policy": "no-referrer",
    # Pages show personal data: no copies in shared caches or the back-forward cache.
    "Cache-Control": "no-store",
}


@functools.cache
def environment() -> Environment:
    """The templates' environment, built once per process."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def warm() -> None:
    """Compile every template and read every catalogue now (a server starting calls it
    in a thread of its own): compiling the result page's template alone takes about half
    a second on a busy machine, which the first coordinator to open a result would
    otherwise wait for."""
    env = environment()
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    for lang in LANGUAGES:
        translator(lang)


def render(
    request: Request,
    name: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page `name` rendered for this request. `context` may hold `user` (a
    `deps.PageUser`); the language follows `i18n.page_language`."""
    lang = page_language(request)
    tr = translator(lang)
    user = context.pop("user", None)
    html = (
        environment()
        .get_template(name)
        .render(
            request=request,
            _=tr.gettext,
            gettext=tr.gettext,
            ngettext=tr.ngettext,
            lang=lang,
            languages=LANGUAGES,
            user=user,
            csrf_token=getattr(user, "csrf", ""),
            nav=nav_for(user.role if user is not None else None, tr.gettext),
            path=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
    remember_language(request, response)
    return response


def remember_language(request: Request, response: HTMLResponse) -> None:
    """A language chosen with `?lang=` is kept in a cookie, so the next page speaks it too."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            asked,
            max_age=LANG_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

"""Sign-in and sign-out: paste an API key, or open a one-time sign-in link; the browser
gets a server-side session in an HttpOnly, SameSite=Strict cookie."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from volmatch.api.service.auth import authenticate
from volmatch.api.service.deps import WriteSession
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.tables import ApiKey
from volmatch.api.web.csrf import PRESIGN_COOKIE, checked_form, keep_presign, presign_token
from volmatch.api.web.deps import PageForm, PageUser, PageUserDep
from volmatch.api.web.errors import local_path
from volmatch.api.web.i18n import page_language, translator
from volmatch.api.web.nav import home_of
from volmatch.api.web.render import render
from volmatch.api.web.session import (
    COOKIE,
    MAX_TOKEN,
    end_session,
    find_session,
    redeem_link,
    start_session,
)

router = APIRouter(route_class=CommitRoute, include_in_schema=False)

LinkToken = Annotated[str, Path(min_length=20, max_length=MAX_TOKEN, pattern=r"^[A-Za-z0-9_-]+$")]


def _next(value: object) -> str:
    """Where to go after sign-in: a path of this site, else '' (the role's home)."""
    return local_path(value)


async def presigned_form(request: Request) -> FormData:
    """A sign-in form, checked against the browser's double-submit cookie."""
    return await checked_form(request, request.cookies.get(PRESIGN_COOKIE, ""))


PresignedForm = Annotated[FormData, Depends(presigned_form)]


def _signed_in_response(request: Request, token: str, target: str) -> Response:
    response = RedirectResponse(target, 303)
    settings = request.app.state.settings
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(settings.web_session_h * 3600),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


def _current(request: Request) -> PageUser | None:
    with request.app.state.db.read() as session:
        found = find_session(session, request.cookies.get(COOKIE))
    return None if found is None else PageUser(found)


@router.get("/")
def home(request: Request) -> Response:
    """The role's home page when signed in, else the sign-in page."""
    user = _current(request)
    return RedirectResponse(home_of(user.role) if user else "/sign-in", 303)


def _sign_in_page(
    request: Request,
    *,
    status: int = 200,
    error: str = "",
    next_path: str = "",
    ended: bool = False,
) -> Response:
    token = presign_token(request)
    response = render(
        request,
        "sign_in.html",
        status=status,
        error=error,
        presign=token,
        next_path=next_path,
        ended=ended,
    )
    keep_presign(request, response, token)
    return response


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    # A session cookie that no longer signs in: the session expired or its key was
    # revoked (Sign out deletes the cookie), and the page says so.
    ended = COOKIE in request.cookies and _current(request) is None
    return _sign_in_page(request, next_path=_next(request.query_params.get("next")), ended=ended)


@router.post("/sign-in")
def sign_in(request: Request, form: PresignedForm, session: WriteSession) -> Response:
    key = str(form.get("key", "")).strip()
    who = authenticate(session, key) if key else None
    if who is None:
        _ = translator(page_language(request)).gettext
        message = _("This key is unknown, revoked or expired.") if key else _("Paste your API key.")
        return _sign_in_page(request, status=401, error=message, next_path=_next(form.get("next")))
    token = start_session(session, who.key_id, request.app.state.settings.web_session_h)
    return _signed_in_response(request, token, _next(form.get("next")) or home_of(who.role))


@router.get("/sign-in/link/{token}")
def link_page(request: Request, token: LinkToken) -> Response:
    """A sign-in link shows a button: a GET never uses it up (mail scanners and link
    previews open links), the button's POST does."""
    presign = presign_token(request)
    response = render(request, "sign_in_link.html", token=token, presign=presign)
    keep_presign(request, response, presign)
    return response


@router.post("/sign-in/link/{token}")
def link_sign_in(
    request: Request, token: LinkToken, form: PresignedForm, session: WriteSession
) -> Response:
    key_id = redeem_link(session, token)
    if key_id is None:
        return render(request, "sign_in_link.html", status=410, token="", presign="", used=True)
    role = session.get_one(ApiKey, key_id).role
    new = start_session(session, key_id, request.app.state.settings.web_session_h)
    return _signed_in_response(request, new, home_of(role))


@router.post("/sign-out")
def sign_out(
    request: Request, user: PageUserDep, form: PageForm, session: WriteSession
) -> Response:
    end_session(session, user.signed_in.session_id)
    response = RedirectResponse("/sign-in", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response

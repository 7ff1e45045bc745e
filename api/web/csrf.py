"""CSRF tokens. A signed-in session has its own token (stored with it): every form
carries it in the hidden field `csrf_token`, every script request in the header
`X-CSRF-Token`. Before sign-in there is no session: the sign-in forms use a double-submit
token, a random value in an HttpOnly, SameSite=Strict cookie that the form repeats.
A request without the right token gets the 403 page and changes nothing."""

from __future__ import annotations

import hmac
import secrets

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from volmatch.api.web.errors import CsrfRejected

FIELD = "csrf_token"
HEADER = "x-csrf-token"
PRESIGN_COOKIE = "volmatch_presign"
PRESIGN_MAX_AGE_S = 3600
"""How long a sign-in form may stay open before its token is stale: an hour."""


def same(expected: str, given: object) -> bool:
    """Whether `given` is the token `expected` (constant time; empty never matches)."""
    return (
        bool(expected)
        and isinstance(given, str)
        and hmac.compare_digest(expected.encode(), given.encode())
    )


async def checked_form(request: Request, expected: str) -> FormData:
    """The request's form, once its CSRF token (field or header) is `expected`."""
    form = await request.form()
    if not (same(expected, form.get(FIELD)) or same(expected, request.headers.get(HEADER))):
        raise CsrfRejected
    return form


def presign_token(request: Request) -> str:
    """The double-submit token of a sign-in form: the browser's own, or a new one."""
    token = request.cookies.get(PRESIGN_COOKIE, "")
    return token if 20 <= len(token) <= 64 else secrets.token_urlsafe(24)


def keep_presign(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRESIGN_COOKIE,
        token,
        max_age=PRESIGN_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )

"""Page dependencies as `Annotated` aliases. `PageUserDep`: the signed-in user, or the
sign-in page. `HostPage`, `CoordinatorPage`, `PlannerPage`: that role only; any other
role gets the 404 page (a page of another role does not exist for you). `PageForm`:
the posted form, once its CSRF token checks out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from volmatch.api.service.auth import Principal
from volmatch.api.web.csrf import checked_form
from volmatch.api.web.errors import PageNotFound, SignInRequired
from volmatch.api.web.session import COOKIE, SignedIn, find_session


@dataclass(frozen=True)
class PageUser:
    """The signed-in user of a page: their key's principal and their session."""

    signed_in: SignedIn

    @property
    def principal(self) -> Principal:
        return self.signed_in.principal

    @property
    def role(self) -> str:
        return self.signed_in.principal.role

    @property
    def host_id(self) -> str | None:
        return self.signed_in.principal.host_id

    @property
    def key_id(self) -> str:
        return self.signed_in.principal.key_id

    @property
    def csrf(self) -> str:
        return self.signed_in.csrf


def page_user(request: Request) -> PageUser:
    """The session of the request's cookie (a short read of its own), or SignInRequired."""
    with request.app.state.db.read() as session:
        found = find_session(session, request.cookies.get(COOKIE))
    if found is None:
        raise SignInRequired
    user = PageUser(found)
    request.state.key_id = user.key_id  # the access log names the key, as for the API
    request.state.page_user = user
    usage = getattr(request.app.state, "key_usage", None)
    if usage is not None:
        usage.note(user.key_id)
    return user


PageUserDep = Annotated[PageUser, Depends(page_user)]


def role_page(*roles: str) -> Callable[[PageUser], Awaitable[PageUser]]:
    """A dependency that lets only these roles see the page (404 page for the others)."""

    async def check(user: PageUserDep) -> PageUser:
        if user.role not in roles:
            raise PageNotFound
        return user

    return check


HostPage = Annotated[PageUser, Depends(role_page("host"))]
CoordinatorPage = Annotated[PageUser, Depends(role_page("coordinator"))]
PlannerPage = Annotated[PageUser, Depends(role_page("planner", "coordinator"))]


async def page_form(request: Request, user: PageUserDep) -> FormData:
    """The posted form of a signed-in user, CSRF-checked (the 403 page otherwise)."""
    return await checked_form(request, user.csrf)


PageForm = Annotated[FormData, Depends(page_form)]

"""Request dependencies as `Annotated` aliases: settings, a database session, the caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from volmatch.api.service.auth import Principal, Role, authenticate
from volmatch.api.service.errors import ApiError
from volmatch.api.service.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API key from `volmatch keys create`.")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_factory(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed when the handler returns normally."""
    with get_factory(request)() as session, session.begin():
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None:
        raise ApiError(
            401,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # A short read-only session of its own: authentication must not join the handler's
    # transaction, or a rejected request would still hold a write lock on SQLite.
    with get_factory(request)() as session:
        who = authenticate(session, creds.credentials)
    if who is None:
        raise ApiError(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    request.state.key_id = who.key_id
    return who


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets only the given roles through (403 for the others)."""

    def check(who: PrincipalDep) -> Principal:
        if who.role not in roles:
            raise ApiError(403, f"a {who.role} key may not do this (needs {' or '.join(roles)})")
        return who

    return check


Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Reader = Annotated[Principal, Depends(require("coordinator", "planner"))]
Anyone = PrincipalDep

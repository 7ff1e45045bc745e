"""Request dependencies as `Annotated` aliases: settings, the database, sessions, the
caller, idempotency keys.

Sessions are function-scoped: they close when the endpoint returns, before the answer
is sent (and before any stream starts), so no connection is held while a client reads.
`WriteSession` is committed by `routing.CommitRoute` before the answer leaves: a 2xx
means committed.

The caller: a key this process has verified before is confirmed in the endpoint's own
thread and session (`KeyCheck`), so that a read costs one connection and one thread hop;
a new key, and any request of a route that cannot confirm it later, is verified at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Header, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from volmatch.api.service import idempotency
from volmatch.api.service.auth import (
    KeyUsage,
    Principal,
    Role,
    VerifiedKeys,
    authenticate,
    still_valid,
)
from volmatch.api.service.db import Database
from volmatch.api.service.errors import ApiError
from volmatch.api.service.schemas import ID_PATTERN, KEY_ID_PATTERN, ROUND_ID_PATTERN
from volmatch.api.service.settings import Settings

_bearer = HTTPBearer(auto_error=False, description="An API key from `volmatch keys create`.")

VolunteerPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=64, description="Volunteer id.")]
PlacementPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=64, description="Placement id.")]
HostPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=64, description="Host id.")]
RoundPath = Annotated[
    str, Path(pattern=ROUND_ID_PATTERN, min_length=32, max_length=32, description="Round id.")
]
KeyPath = Annotated[
    str, Path(pattern=KEY_ID_PATTERN, min_length=12, max_length=12, description="Key id.")
]


# Dependencies that do no I/O are `async`: FastAPI runs a plain `def` dependency in a
# thread, a hop that costs more than the work.


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


READ, WRITE, COMMIT_EARLY = "volmatch.read", "volmatch.write", "volmatch.commit_early"
"""Keys of `Session.info` by which `routing.CommitRoute` knows a request's sessions."""


async def _close(session: Session) -> None:
    """Close a dependency's session in the event loop when that is free of I/O (the
    endpoint's thread already ended its transaction: `routing.CommitRoute`), else in a
    thread outside the endpoints' limit (a connection is given back: see
    `routing._unlimited`)."""
    if session.in_transaction():
        await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))
    else:
        session.close()


async def read_session(request: Request) -> AsyncIterator[Session]:
    """A read-only session for the endpoint's body: `CommitRoute` closes it as soon as
    the endpoint returns (the answer is built from what it returned), so its
    connection goes back to the pool before serialisation and sending. `async`: a
    session connects on its first query, so opening it needs no thread, and neither
    does closing it once the endpoint has."""
    session = request.app.state.db.reads()
    session.info[READ] = True
    try:
        yield session
    finally:
        await _close(session)


async def write_session(request: Request) -> AsyncIterator[Session]:
    """A write transaction for the endpoint's body; `CommitRoute` commits it before the
    answer is sent: as the endpoint returns, in its thread, or, when the answer must be
    stored under an Idempotency-Key, together with that record. Rolled back on error.
    `async` as `read_session`."""
    session = request.app.state.db.writes()
    session.begin()  # no connection yet: the first query takes it (and the write lock)
    session.info[WRITE] = True
    session.info[COMMIT_EARLY] = idempotency.pending_of(request) is None
    request.state.tx = session
    try:
        yield session
    finally:
        request.state.tx = None
        committed = not session.in_transaction()
        await _close(session)  # rolls back what is still open
    if not committed:
        raise RuntimeError(
            "a write session reached its end uncommitted: the route must use routing.CommitRoute"
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
ReadSession = Annotated[Session, Depends(read_session, scope="function")]
WriteSession = Annotated[Session, Depends(write_session, scope="function")]


@dataclass
class KeyCheck:
    """A key taken from this process's `VerifiedKeys`, still to be confirmed against the
    database before the endpoint runs: by `routing.CommitRoute`, in the endpoint's
    thread and its read session (one connection and one thread hop for a read, not two;
    a write confirms it in a short read of its own, not in its write transaction)."""

    token: str
    who: Principal
    db: Database
    usage: KeyUsage | None
    verified: VerifiedKeys
    tried: bool = False

    def confirm(self, session: Session | None) -> None:
        """401 unless the key still authenticates as before (revoked, rotated or expired
        since it was remembered); `session`: the endpoint's, else a short read of its own."""
        self.tried = True
        if session is not None:
            ok = still_valid(session, self.token, self.who)
        else:
            with self.db.read() as own:
                ok = still_valid(own, self.token, self.who)
        if not ok:
            self.verified.drop(self.who.key_id)
            raise _refused()
        if self.usage is not None:
            self.usage.note(self.who.key_id)


KEY_CHECK: ContextVar[KeyCheck | None] = ContextVar("volmatch_key_check", default=None)
"""The request's key still to confirm (set by `get_principal`, reset per request by
`routing.CommitRoute`); endpoint threads inherit it with the request's context."""


def _refused() -> ApiError:
    return ApiError(
        401, "unknown, revoked or expired API key", headers={"WWW-Authenticate": "Bearer"}
    )


def _verify(db: Database, token: str) -> Principal | None:
    # A short read-only session of its own: authentication never writes (the last use
    # is noted in memory and written in batches by the app).
    with db.read() as session:
        return authenticate(session, token)


def _deferrable(request: Request) -> bool:
    """Whether the key may be confirmed with the endpoint instead of now: only for the
    synchronous endpoints of `routing.CommitRoute`, which confirm it before their body
    runs, and never with an Idempotency-Key (a stored answer is replayed before the
    endpoint)."""
    route = request.scope.get("route")
    return bool(getattr(route, "confirms_key", False)) and (
        "idempotency-key" not in request.headers
    )


async def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None:
        raise ApiError(
            401,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = creds.credentials
    db: Database = request.app.state.db
    usage: KeyUsage | None = getattr(request.app.state, "key_usage", None)
    verified: VerifiedKeys | None = getattr(request.app.state, "verified_keys", None)
    who = verified.get(token) if verified is not None else None
    if who is not None and verified is not None and _deferrable(request):
        KEY_CHECK.set(KeyCheck(token, who, db, usage, verified))
    else:
        who = await anyio.to_thread.run_sync(_verify, db, token)
        if who is None:
            raise _refused()
        if verified is not None:
            verified.put(token, who)
        if usage is not None:
            usage.note(who.key_id)
    request.state.key_id = who.key_id
    return who


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets only the given roles through (403 for the others)."""

    async def check(who: PrincipalDep) -> Principal:
        if who.role not in roles:
            raise ApiError(403, f"a {who.role} key may not do this (needs {' or '.join(roles)})")
        return who

    return check


Coordinator = Annotated[Principal, Depends(require("coordinator"))]
Reader = Annotated[Principal, Depends(require("coordinator", "planner"))]
Anyone = PrincipalDep


async def idempotent(
    request: Request,
    who: PrincipalDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=idempotency.MAX_KEY,
            description=idempotency.HEADER_DOC,
        ),
    ] = None,
) -> None:
    """Every POST route's idempotency check, after authentication (see idempotency.py)."""
    try:
        await idempotency.check(request, who.key_id, idempotency_key)
    except idempotency.KeyReused:
        raise ApiError(
            422,
            "this Idempotency-Key was used with a different request; use a new key for a "
            "new request",
        ) from None


IDEMPOTENT = [Depends(idempotent)]
"""`dependencies=` of every POST route."""

"""`CommitRoute`: the route class of every router. A 2xx never leaves the server before
its transaction has committed.

The endpoint runs with a `WriteSession` (deps.py) left open; once the endpoint has
returned and its answer is built, the route flushes the endpoint's writes, adds the
idempotency record of the answer (idempotency.py) and commits, all before the answer
is sent. A commit that fails becomes the right status through the error handlers
(409 for a conflict, naming the ids where known; 503 with Retry-After when the database
is unavailable or busy), never a 500 and never a 200 for lost data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from volmatch.api.service import idempotency
from volmatch.api.service.db import Database
from volmatch.api.service.errors import ApiError


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


def _commit(
    db: Database,
    tx: Session | None,
    pending: idempotency.Pending | None,
    response: Response,
) -> None:
    store = pending is not None and 200 <= response.status_code < 300 and hasattr(
        response, "body")
    if tx is None and not store:
        return
    own = tx is None
    session = db.writes() if own else tx
    assert session is not None
    try:
        if own:
            session.begin()
        session.flush()  # the endpoint's own writes: a conflict here is theirs (409)
        if store:
            assert pending is not None
            idempotency.record(session, pending, response)
            try:
                session.flush()
            except IntegrityError:
                raise _KeyTaken from None
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        if own:
            session.close()


def _stored_answer(db: Database, pending: idempotency.Pending, ttl_h: float) -> Response:
    with db.read() as session:
        try:
            found = idempotency.lookup(session, pending, ttl_h)
        except idempotency.KeyReused:
            found = None
    if found is None:
        raise ApiError(409, "a request with this Idempotency-Key was being processed at the "
                       "same time; retry to get its answer", headers={"Retry-After": "1"})
    return found


class CommitRoute(APIRoute):
    """An API route that commits the request's transaction before answering."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await inner(request)
            except idempotency.Replay as replay:
                return replay.response
            tx: Any = getattr(request.state, "tx", None)
            pending = idempotency.pending_of(request)
            db: Database = request.app.state.db
            try:
                await run_in_threadpool(_commit, db, tx, pending, response)
            except _KeyTaken:
                assert pending is not None
                ttl_h = request.app.state.settings.idempotency_ttl_h
                return await run_in_threadpool(_stored_answer, db, pending, ttl_h)
            return response

        return handler

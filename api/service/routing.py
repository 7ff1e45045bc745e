"""`CommitRoute`: the route class of every router. A 2xx never leaves the server before
its transaction has committed, and a burst queues instead of stalling.

Commit: a synchronous endpoint is wrapped so that, as it returns and in its own thread,
its read sessions are closed and its write session is flushed and committed; when the
answer must be stored under an Idempotency-Key, the route instead commits the write
together with that record once the answer is built. Either way the commit happens
before the answer is sent, and connections are held for the endpoint's body only, not
across the thread hops of serialisation that follow. A commit that fails becomes its
status through the error handlers (409 for a conflict, naming the ids where known; 503
with Retry-After when the database is unavailable or busy), never a 500 and never a 200
for lost data.

Admission: a request takes a slot (`Admission`, asyncio semaphores) before its
dependencies run and gives it back once committed. Waiting for a slot costs no thread;
past `queue_wait_s` it is a 503 with Retry-After. The slots never exceed the endpoint
threads: without that bound a burst fills every thread with requests that wait for a
connection while the requests holding the connections wait for a thread to finish
on, and the service stalls until the pool's timeout (measured: 36 of 100 concurrent
reads answered, the rest 503 after 10 s).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio.to_thread
from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from volmatch.api.service import idempotency
from volmatch.api.service.db import Database
from volmatch.api.service.deps import COMMIT_EARLY, KEY_CHECK, READ, WRITE
from volmatch.api.service.errors import ApiError, unavailable

T = TypeVar("T")


class _KeyTaken(Exception):
    """A concurrent request with the same Idempotency-Key committed first."""


def _commit(
    db: Database,
    tx: Session | None,
    pending: idempotency.Pending | None,
    response: Response,
) -> None:
    store = pending is not None and 200 <= response.status_code < 300 and hasattr(response, "body")
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
        raise ApiError(
            409,
            "a request with this Idempotency-Key was being processed at the "
            "same time; retry to get its answer",
            headers={"Retry-After": "1"},
        )
    return found


async def _unlimited(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn` in a thread outside the endpoints' thread limit. A commit holds a
    connection: were it to wait for one of the limited threads, and those threads wait
    for a connection, neither would move (FastAPI runs dependencies' exits the same way)."""
    return await anyio.to_thread.run_sync(fn, *args, limiter=anyio.CapacityLimiter(1))


class Admission:
    """Slots for requests that use the database: `reads` for GET and HEAD, `writes` for
    the others. Together they never exceed the endpoint threads, so an admitted request
    always gets a thread: it may wait for a connection (up to `db_wait_s`), but the
    requests holding the connections always move on."""

    def __init__(self, reads: int, writes: int, wait_s: float) -> None:
        self.reads = asyncio.Semaphore(reads)
        self.writes = asyncio.Semaphore(writes)
        self.wait_s = wait_s

    @classmethod
    def for_threads(cls, threads: int, wait_s: float) -> Admission:
        spare = max(1, threads - THREADS_KEPT_FREE)
        writes = max(1, spare // 4)
        return cls(spare - writes, writes, wait_s)

    def slot(self, method: str) -> asyncio.Semaphore:
        return self.reads if method in ("GET", "HEAD") else self.writes


THREADS_KEPT_FREE = 4
"""Endpoint threads no admitted request may take: for the idempotency look-up and
the event streams' reads, which run outside the admission."""


def flush_or_raise(session: Session) -> None:
    """Flush the endpoint's writes; on failure roll back and re-raise (the handlers
    make it a 409 or a 503)."""
    try:
        session.flush()
    except BaseException:
        session.rollback()
        raise


def _finish_sessions(kwargs: dict[str, Any]) -> None:
    """As a synchronous endpoint returns, in its own thread: close its read sessions and
    commit its write session (unless its answer must be stored with it). The connection
    is then held for the endpoint's body only, not across the thread hops of
    serialisation and commit that follow, which under a burst last longer than the
    queries themselves."""
    for value in kwargs.values():
        if not isinstance(value, Session):
            continue
        if value.info.get(READ):
            value.close()
        elif value.info.get(WRITE) and value.info.get(COMMIT_EARLY) and value.in_transaction():
            flush_or_raise(value)
            try:
                value.commit()
            except BaseException:
                value.rollback()
                raise


def _abandon_sessions(kwargs: dict[str, Any]) -> None:
    """As a synchronous endpoint fails, in its own thread: roll back and close its
    sessions, so that the dependencies' exits (in the event loop) have no I/O left."""
    for value in kwargs.values():
        if isinstance(value, Session) and (value.info.get(READ) or value.info.get(WRITE)):
            value.rollback()
            if value.info.get(READ):
                value.close()


def _session_for_key(kwargs: dict[str, Any]) -> Session | None:
    """The endpoint's read session, in which to confirm its caller's key; else None (a
    short read of its own). Never its write session: its first statement takes the
    write lock on SQLite (`BEGIN IMMEDIATE`), which would then be held through all the
    endpoint's work before its first write (validating a document, preparing a round),
    every other writer waiting."""
    for value in kwargs.values():
        if isinstance(value, Session) and value.info.get(READ):
            return value
    return None


def _committing(
    endpoint: Callable[..., Any], response_field: Callable[[], Any]
) -> Callable[..., Any]:
    """`endpoint` as a coroutine that runs it in one thread of the endpoints' pool and
    there, as it returns, finishes its sessions (see `_finish_sessions`) and validates
    its answer against the response model.

    One thread hop per request instead of three: FastAPI would run a plain `def`
    endpoint in a thread, then validate its answer in another (the loop's validation
    of the already validated value is then a pass-through). Under a burst each hop is a
    wait for the GIL and a thread wake-up, which cost more than a small read itself
    (benchmarks/README.md, the service under load)."""

    def call(kwargs: dict[str, Any]) -> Any:
        try:
            check = KEY_CHECK.get()
            if check is not None:
                check.confirm(_session_for_key(kwargs))
            result = endpoint(**kwargs)
        except BaseException:
            _abandon_sessions(kwargs)
            raise
        _finish_sessions(kwargs)
        field = response_field()
        if field is None or isinstance(result, Response):
            return result
        value, errors = field.validate(result, {}, loc=("response",))
        return result if errors else value  # errors: FastAPI reports them as before

    @functools.wraps(endpoint)
    async def run(**kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(call, kwargs)

    return run


async def _refuse_unconfirmed() -> None:
    """A request that failed before its endpoint confirmed its key (a 403, a 422 ...): a
    401 instead when the key is no longer valid, as if it had been checked first."""
    check = KEY_CHECK.get()
    if check is not None and not check.tried:
        await anyio.to_thread.run_sync(check.confirm, None)


class CommitRoute(APIRoute):
    """An API route that commits the request's transaction before answering."""

    confirms_key = False

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        ):
            endpoint = _committing(endpoint, lambda: self.response_field)
            # `deps.get_principal` may leave the key's confirmation to the endpoint's thread
            self.confirms_key = True
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            admission: Admission | None = getattr(request.app.state, "admission", None)
            if admission is None:  # the app has not started: nothing to admit to
                return await run(request)
            slot = admission.slot(request.method)
            try:
                await asyncio.wait_for(slot.acquire(), admission.wait_s)
            except TimeoutError:
                raise unavailable(
                    "the service is busy (its queue for the database did not move in time); retry"
                ) from None
            try:
                return await run(request)
            finally:
                slot.release()

        async def run(request: Request) -> Response:
            reset = KEY_CHECK.set(None)  # a key check is this request's only
            try:
                response = await inner(request)
            except idempotency.Replay as replay:
                return replay.response
            except Exception:
                await _refuse_unconfirmed()
                raise
            finally:
                KEY_CHECK.reset(reset)
            tx: Any = getattr(request.state, "tx", None)
            if tx is not None and not tx.in_transaction():
                tx = None  # committed as the endpoint returned
            pending = idempotency.pending_of(request)
            if tx is None and pending is None:
                return response
            db: Database = request.app.state.db
            try:
                await _unlimited(_commit, db, tx, pending, response)
            except _KeyTaken:
                assert pending is not None
                ttl_h = request.app.state.settings.idempotency_ttl_h
                return await _unlimited(_stored_answer, db, pending, ttl_h)
            return response

        return handler

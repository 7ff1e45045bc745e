"""`Idempotency-Key` on POSTs: the same key with the same request replays the first
successful answer (status, body and headers such as `Location`, plus
`Idempotent-Replayed: true`); the same key with another request is a 422.

Keys belong to the API key that sent them (its id), so only authenticated callers
store anything: the check runs after authentication, and a caller without a valid key
gets its 401 before any record is read or written. The answer is stored in the same
transaction as the request's own writes (`routing.CommitRoute`): a key has either a
committed answer or no trace, never a half state. Two requests racing with one key
both run; the second's commit fails on the key and is rolled back whole, and it is
answered with the first one's stored answer. Failed requests (4xx) are not stored: they
changed nothing, and may be retried with the same key. Records expire after
`Settings.idempotency_ttl_h` (24 h): an expired key is a new key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from sqlalchemy import delete
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from volmatch.api.service.tables import IdempotencyRecord, utcnow

MAX_KEY = 200
"""Longest Idempotency-Key accepted (the column's width): 422 above."""
PATH_KEPT = 500
"""Characters of the path kept with a record (for people reading the table); the
request's digest covers the whole path."""
_NOT_REPLAYED = frozenset({b"content-length", b"date", b"server", b"x-request-id"})


@dataclass(frozen=True)
class Pending:
    """A POST that carries an Idempotency-Key and has no live record yet."""

    scope: str
    key: str
    digest: str
    method: str
    path: str


class Replay(Exception):
    """Raised by the dependency: answer with this stored response instead."""

    def __init__(self, response: Response) -> None:
        super().__init__("idempotent replay")
        self.response = response


class KeyReused(Exception):
    """The key was used with a different request (422)."""


def digest(method: str, path: str, query: bytes, body: bytes) -> str:
    return hashlib.sha256(
        method.encode() + b" " + path.encode() + b"\n" + query + b"\n" + body
    ).hexdigest()


def live(rec: IdempotencyRecord | None, ttl_h: float) -> bool:
    return rec is not None and rec.created_at > utcnow() - dt.timedelta(hours=ttl_h)


def replay_response(rec: IdempotencyRecord) -> Response:
    headers = [
        (str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in rec.response_headers or []
    ]
    response = Response(rec.response_body or b"", status_code=rec.status_code or 200)
    response.raw_headers = [
        *[(k, v) for k, v in headers if k.lower() != b"content-length"],
        (b"content-length", str(len(rec.response_body or b"")).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    return response


def lookup(session: Session, pending: Pending, ttl_h: float) -> Response | None:
    """The stored answer for this key (None when there is no live one); KeyReused when
    the key holds a different request."""
    rec = session.get(IdempotencyRecord, (pending.scope, pending.key))
    if not live(rec, ttl_h):
        return None
    assert rec is not None
    if rec.body_hash != pending.digest:
        raise KeyReused
    return replay_response(rec)


def record(session: Session, pending: Pending, response: Response) -> None:
    """Add the record of a successful answer to the request's transaction (an expired
    record under the same key is replaced)."""
    session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.scope == pending.scope, IdempotencyRecord.key == pending.key
        )
    )
    ctype = response.headers.get("content-type")
    session.add(
        IdempotencyRecord(
            scope=pending.scope,
            key=pending.key,
            method=pending.method,
            path=pending.path[:PATH_KEPT],
            body_hash=pending.digest,
            status_code=response.status_code,
            content_type=ctype[:200] if ctype else None,
            response_body=bytes(response.body),
            response_headers=[
                [k.decode("latin-1"), v.decode("latin-1")]
                for k, v in response.raw_headers
                if k.lower() not in _NOT_REPLAYED
            ],
        )
    )


def purge(session: Session, ttl_h: float) -> int:
    """Delete the records older than the TTL; return how many."""
    cutoff = utcnow() - dt.timedelta(hours=ttl_h)
    res = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(getattr(res, "rowcount", 0) or 0)


HEADER_DOC = (
    "Any unique string per intended operation (1-200 characters): resending the same "
    "request with the same key replays the first successful answer instead of doing it "
    "twice. Kept 24 h (`VOLMATCH_IDEMPOTENCY_TTL_H`)."
)


async def check(request: Request, key_id: str, idempotency_key: str | None) -> None:
    """Replay a stored answer (raises `Replay`), refuse a reused key (`KeyReused`), or
    mark the request so that `routing.CommitRoute` stores its answer. Called by the
    `Idempotent` dependency after authentication, so `key_id` is a verified key."""
    if idempotency_key is None or request.method != "POST":
        return
    body = await request.body()
    pending = Pending(
        scope=key_id,
        key=idempotency_key,
        digest=digest(
            request.method, request.url.path, request.scope.get("query_string", b""), body
        ),
        method=request.method,
        path=request.url.path,
    )
    db = request.app.state.db
    ttl_h = request.app.state.settings.idempotency_ttl_h

    def read() -> Response | None:
        with db.read() as session:
            return lookup(session, pending, ttl_h)

    stored = await run_in_threadpool(read)
    if stored is not None:
        raise Replay(stored)
    request.state.idempotency = pending


def pending_of(request: Request) -> Pending | None:
    found: Any = getattr(request.state, "idempotency", None)
    return found if isinstance(found, Pending) else None

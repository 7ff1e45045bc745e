"""Request plumbing as one ASGI middleware: request ids, the body limit (413),
`Idempotency-Key` on POSTs, and one access-log line per request (ids, no personal data).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from volmatch.api.service.db import transaction
from volmatch.api.service.logs import get_logger, request_id
from volmatch.api.service.tables import IdempotencyRecord

log = get_logger("http")
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_MAX_KEY = 200


def _json(status: int, doc: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(doc).encode()


class ServiceMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        rid = headers.get("x-request-id", "")
        rid = rid if _RID.match(rid) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status_box: dict[str, int] = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self._handle(scope, receive, send_with_id, headers)
        finally:
            state = scope.get("state") or {}
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status_box["status"],
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "key_id": state.get("key_id"),
                },
            )
            request_id.reset(token)

    async def _respond(self, send: Send, status: int, body: bytes, ctype: str,
                       extra: list[tuple[bytes, bytes]] | None = None) -> None:
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype.encode()),
                        (b"content-length", str(len(body)).encode()), *(extra or [])],
        })
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: Scope, receive: Receive, send: Send,
                      headers: dict[str, str]) -> None:
        method = scope["method"]
        if method not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        settings = scope["app"].state.settings
        limit = settings.max_body_bytes
        too_big = _json(413, {"detail": f"request body larger than {limit} bytes"})
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await self._respond(send, *too_big, "application/json")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._respond(send, *too_big, "application/json")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        key = headers.get("idempotency-key")
        if method != "POST" or key is None:
            await self.app(scope, replay, send)
            return
        await self._idempotent(scope, replay, send, headers, key, body)

    async def _idempotent(self, scope: Scope, receive: Receive, send: Send,
                          headers: dict[str, str], key: str, body: bytes) -> None:
        if not key or len(key) > _MAX_KEY:
            await self._respond(send, *_json(422, {
                "detail": f"Idempotency-Key must be 1-{_MAX_KEY} characters"}), "application/json")
            return
        sessions = scope["app"].state.sessions
        who = hashlib.sha256(headers.get("authorization", "").encode()).hexdigest()
        digest = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n"
            + scope.get("query_string", b"") + b"\n" + body
        ).hexdigest()
        stored = await asyncio.to_thread(_reserve, sessions, who, key, scope, digest)
        if stored is not None:
            body_hash, status, ctype, payload = stored
            if body_hash != digest:
                await self._respond(send, *_json(422, {
                    "detail": "this Idempotency-Key was used with a different request; "
                              "use a new key for a new request"}), "application/json")
            elif status is None:
                await self._respond(send, *_json(409, {
                    "detail": "a request with this Idempotency-Key is still being processed"}),
                    "application/json")
            else:
                await self._respond(send, status, payload or b"", ctype or "application/json",
                                    [(b"idempotent-replayed", b"true")])
            return

        captured: dict[str, Any] = {"status": 500, "ctype": "application/json", "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        captured["ctype"] = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            await asyncio.to_thread(_store, sessions, who, key, captured)


def _reserve(
    sessions: sessionmaker[Session], who: str, key: str, scope: Scope, digest: str
) -> tuple[str, int | None, str | None, bytes | None] | None:
    """Claim the key for this request (None), or return what it already holds."""
    try:
        with transaction(sessions) as s:
            rec = s.get(IdempotencyRecord, (who, key))
            if rec is None:
                s.add(IdempotencyRecord(scope=who, key=key, method=scope["method"],
                                        path=scope["path"], body_hash=digest))
                return None
            return rec.body_hash, rec.status_code, rec.content_type, rec.response_body
    except IntegrityError:  # a concurrent request with the same key claimed it first
        return digest, None, None, None


def _store(sessions: sessionmaker[Session], who: str, key: str, captured: dict[str, Any]) -> None:
    with transaction(sessions) as s:
        rec = s.get(IdempotencyRecord, (who, key))
        if rec is None:
            return
        if captured["status"] >= 500:
            s.delete(rec)  # a server fault: let the client retry with the same key
        else:
            rec.status_code = captured["status"]
            rec.content_type = captured["ctype"]
            rec.response_body = b"".join(captured["body"])

"""Request plumbing as one ASGI middleware: request ids, the body limit (413), JSON
bodies that repeat a key (422), `OPTIONS`, `HEAD` (as GET without the body) and the
`Allow` header, the last-resort 500, and one access-log line per request (ids, no
personal data). Idempotency keys are handled per route, after authentication
(`idempotency.py`).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from volmatch.api.service.logs import get_logger, request_id
from volmatch.models import ErrorItem
from volmatch.models.duplicate_keys import json_duplicate_keys

_LINK_SECRET = re.compile(r"(/offers/ol_[0-9a-f]{16}_|/sign-in/link/)[^/?]+")
"""A volunteer's personal link and a one-time sign-in link carry their secret in the
path: logged masked."""

log = get_logger("http")
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_PARSED_INLINE = 64_000
"""Bytes of JSON body checked on the event loop (well under a millisecond); larger ones
in a thread, so that other requests are not held."""


def _json(status: int, doc: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(doc).encode()


def _method_table(app: Any) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of every operation: the OpenAPI document's paths, plus
    the routes outside it (the docs pages). Built once per app."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "method_table", None
    )
    if table is None:
        table = [
            (compile_path(path)[0], frozenset(m.upper() for m in ops))
            for path, ops in app.openapi().get("paths", {}).items()
        ]
        table += [
            (compile_path(route.path)[0], frozenset(route.methods))
            for route in app.router.routes
            if isinstance(getattr(route, "path", None), str) and getattr(route, "methods", None)
        ]
        app.state.method_table = table
    return table


def allowed_methods(app: Any, path: str) -> list[str]:
    """The methods the app answers at `path` (with HEAD for GET, and OPTIONS); empty
    when no operation has this path."""
    methods: set[str] = set()
    for pattern, ms in _method_table(app):
        if pattern.match(path):
            methods |= ms
    if not methods:
        return []
    methods.add("OPTIONS")
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _headers_only(send: Send) -> Send:
    """`send` for a HEAD request answered as its GET: the status and headers (with the
    GET's Content-Length), no body."""
    done = False

    async def head(message: Message) -> None:
        nonlocal done
        if message["type"] == "http.response.start":
            await send(message)
        elif message["type"] == "http.response.body" and not done:
            done = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return head


def _read_as_json(content_type: str) -> bool:
    """Whether FastAPI reads a body of this content type as JSON: no type at all,
    application/json and application/...+json."""
    media = content_type.split(";")[0].strip().lower()
    return media in ("", "application/json") or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _repeated_keys(body: bytes) -> list[ErrorItem]:
    """Keys repeated in one object of a JSON body (`models.duplicate_keys`): a large
    body is parsed off the event loop."""
    if len(body) < _PARSED_INLINE:
        return json_duplicate_keys(body, "body", "body")
    return await run_in_threadpool(json_duplicate_keys, body, "body", "body")


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
        box: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                box["status"], box["started"] = message["status"], True
                extra = [(b"x-request-id", rid.encode())]
                raw = list(message.get("headers", []))
                if message["status"] == 405:
                    # Starlette names the methods of one route; the path may have several.
                    allow = ", ".join(allowed_methods(scope["app"], scope["path"]))
                    raw = [(k, v) for k, v in raw if k.lower() != b"allow"]
                    extra.append((b"allow", allow.encode()))
                message["headers"] = [*raw, *extra]
            await send(message)

        try:
            await self._handle(scope, receive, send_with_id, headers)
        except Exception as exc:
            # Answered here rather than by Starlette's ServerErrorMiddleware, which would
            # re-raise to the server and have its traceback logged with the exception's
            # text (SQL parameters, field values): the type is all that is logged.
            log.error("unhandled error", extra={"exc_type": type(exc).__name__})
            if not box["started"]:
                await self._respond(
                    send_with_id,
                    *_json(500, {"detail": "internal error; the request id is in the logs"}),
                    "application/json",
                )
        finally:
            state = scope.get("state") or {}
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": _LINK_SECRET.sub(r"\1***", scope["path"])[:200],
                    "status": box["status"],
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "key_id": state.get("key_id"),
                },
            )
            request_id.reset(token)

    async def _respond(
        self,
        send: Send,
        status: int,
        body: bytes,
        ctype: str,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", ctype.encode()),
                    (b"content-length", str(len(body)).encode()),
                    *(extra or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
    ) -> None:
        method = scope["method"]
        if method == "OPTIONS":
            allow = allowed_methods(scope["app"], scope["path"])
            if not allow:
                await self._respond(send, *_json(404, {"detail": "Not Found"}), "application/json")
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": 204,
                    "headers": [(b"allow", ", ".join(allow).encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        if method == "HEAD":
            await self.app({**scope, "method": "GET"}, receive, _headers_only(send))
            return
        if method not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        limit = scope["app"].state.settings.max_body_bytes
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
        if _read_as_json(headers.get("content-type", "")):
            repeated = await _repeated_keys(body)
            if repeated:
                doc = {
                    "detail": f"invalid request: {len(repeated)} error(s)",
                    "errors": [e.as_dict() for e in repeated],
                }
                await self._respond(send, *_json(422, doc), "application/json")
                return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

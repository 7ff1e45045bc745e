"""HTTP errors and the one place where domain errors become HTTP responses.

`InvalidRound` and request validation -> 422 with `errors` [{section, record, field,
message}]; `InfeasibleRound` -> 409 with `conflicts`; `ApiError` carries its own status.
Database errors: a unique or foreign-key violation (a concurrent write won) -> 409; the
database unavailable, a pool or lock wait that ran out, a statement timeout -> 503 with
`Retry-After`. No handler logs an exception's text: it may hold a record's fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from volmatch.api.service.logs import get_logger
from volmatch.models import ErrorItem, InfeasibleRound, InvalidRound

log = get_logger("errors")


class ApiError(Exception):
    """An error answer: status, a human message and optional structured detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: Sequence[ErrorItem] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


RETRY_AFTER_S = 2
"""What a 503 asks the client to wait: a burst or a database restart clears in seconds."""


def unavailable(detail: str) -> ApiError:
    """503 with Retry-After: the database is down or busy past `db_wait_s`."""
    return ApiError(503, detail, headers={"Retry-After": str(RETRY_AFTER_S)})


def conflict(detail: str, ids: Sequence[str] = ()) -> ApiError:
    """409 naming the ids that conflicted (`conflicts: [{id}]`)."""
    return ApiError(409, detail, extra={"conflicts": [{"id": i} for i in ids]})


def database_error(exc: Exception) -> ApiError:
    """The answer for a database error that reached the edge of a request."""
    from volmatch.api.service.db import conflicting_key

    if isinstance(exc, IntegrityError):
        key = conflicting_key(exc)
        return conflict(
            "the request conflicts with a concurrent change (a record with this id was "
            "written meanwhile); read the current state and retry",
            [key] if key else [],
        )
    if isinstance(exc, StaleDataError):
        return conflict("a record changed or disappeared concurrently; retry")
    if isinstance(exc, PoolTimeout):
        return unavailable("the service is busy (no database connection free in time); retry")
    if isinstance(exc, DBAPIError):
        code = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
        if code in ("40001", "40P01"):  # serialization failure, deadlock
            return conflict("the request conflicted with a concurrent change; retry")
        if code in ("57014", "55P03"):  # statement timeout, lock not available
            return unavailable("the database took too long (a timeout ran out); retry")
        return unavailable("the database is unavailable or busy; retry")
    return ApiError(500, "internal error; the request id is in the logs")


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"no {kind} with id {ident!r}")


def forbidden(what: str) -> ApiError:
    return ApiError(403, f"this API key's role may not {what}")


def invalid(section: str, record: str, field: str, message: str) -> ApiError:
    return ApiError(422, message, errors=[ErrorItem(section, record, field, message)])


def _body(detail: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, **extra}


def _loc_item(loc: Sequence[Any], body: Any, message: str) -> ErrorItem:
    """Name the record (its id where it has one) and the field of a validation error."""
    parts = list(loc)
    where = parts.pop(0) if parts else "request"
    if where != "body":
        return ErrorItem(str(where), str(where), ".".join(map(str, parts)), message)
    section, record, node = "body", "body", body
    # Walk down to the innermost record that has an id: {"volunteers": [{"id": ...}]}.
    path: list[str] = []
    for i, part in enumerate(parts):
        if isinstance(node, Mapping):
            node = node.get(part) if isinstance(part, str) else None
        elif (
            isinstance(node, list)
            and isinstance(part, int)
            and ((0 <= part < len(node) and isinstance(node[part], Mapping)) or not path)
        ):
            # an item of a list of records: it becomes the record named (a list of
            # values inside a record, like `training`, stays part of the field's path)
            node = node[part] if 0 <= part < len(node) else None
            section = str(parts[i - 1]) if i else "body"
            rid = node.get("id") if isinstance(node, Mapping) else None
            record = rid if isinstance(rid, str) and 0 < len(rid) <= 64 else f"{section}[{part}]"
            path = []
            continue
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part] if 0 <= part < len(node) else None
        else:
            node = None
        path.append(str(part))
    if record == "body" and isinstance(body, Mapping) and isinstance(body.get("id"), str):
        record = body["id"]
    return ErrorItem(section, record, ".".join(p for p in path if p != "[key]"), message)


def request_errors(errors: Sequence[Mapping[str, Any]], body: Any) -> list[ErrorItem]:
    """A request's validation errors (pydantic's, with `loc` from the request: `body`
    first) as the API answers them: record, field and a plain message each. The web
    pages show the same messages beside their inputs."""
    items = []
    for err in errors:
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field (a typo? unknown keys are not allowed)"
        elif err.get("type") == "missing":
            msg = "required field is missing"
        items.append(_loc_item(err.get("loc", ()), body, msg))
    return items


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        extra: dict[str, Any] = dict(exc.extra)
        if exc.errors:
            extra["errors"] = [e.as_dict() for e in exc.errors]
        return JSONResponse(_body(exc.detail, **extra), exc.status, headers=exc.headers)

    @app.exception_handler(InvalidRound)
    async def _invalid_round(_: Request, exc: InvalidRound) -> JSONResponse:
        return JSONResponse(
            _body(
                f"invalid round: {len(exc.errors)} error(s)",
                errors=[e.as_dict() for e in exc.errors],
            ),
            422,
        )

    @app.exception_handler(InfeasibleRound)
    async def _infeasible(_: Request, exc: InfeasibleRound) -> JSONResponse:
        return JSONResponse(
            _body(
                f"round cannot be solved: {len(exc.conflicts)} conflict(s)",
                conflicts=[c.as_dict() for c in exc.conflicts],
            ),
            409,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        # A parameter read by a route and by one of its dependencies is checked by both:
        # its error is said once.
        items = [e.as_dict() for e in dict.fromkeys(request_errors(exc.errors(), exc.body))]
        return JSONResponse(_body(f"invalid request: {len(items)} error(s)", errors=items), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 400:  # FastAPI's "error parsing the body": bad JSON bytes
            item = ErrorItem("body", "body", "", "the body is not valid JSON (UTF-8)")
            return JSONResponse(_body(item.message, errors=[item.as_dict()]), 422)
        return JSONResponse(_body(str(exc.detail)), exc.status_code, headers=headers)

    async def _database(_: Request, exc: Exception) -> JSONResponse:
        err = database_error(exc)
        log.warning("database error", extra={"exc_type": type(exc).__name__, "status": err.status})
        extra = dict(err.extra)
        return JSONResponse(_body(err.detail, **extra), err.status, headers=err.headers)

    for kind in (DBAPIError, PoolTimeout, StaleDataError):
        app.add_exception_handler(kind, _database)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The type only: an exception's text may carry a record's fields (a name).
        log.error("unhandled error", extra={"exc_type": type(exc).__name__})
        return JSONResponse(_body("internal error; the request id is in the logs"), 500)

"""Rounds: frozen snapshots solved as durable jobs; status, progress (also as
server-sent events), cancel, result, explanations, what-if variants, publication.

Host keys see no rounds: every round id is a 404 to them.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from volmatch.api.service import rounds_service
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    Coordinator,
    DbDep,
    Reader,
    ReadSession,
    RoundPath,
    SettingsDep,
    WriteSession,
)
from volmatch.api.service.errors import ApiError, invalid
from volmatch.api.service.lifecycle.publish import ready_reserves
from volmatch.api.service.openapi import request_schema
from volmatch.api.service.result_pages import stored_result
from volmatch.api.service.rounds_service import (
    read_visible,
    round_header,
    round_public,
    snapshot,
    store_round,
    visible_round,
)
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import (
    ExplainOut,
    JobStatus,
    PlacementQuery,
    PublicationPublic,
    RoundCreate,
    RoundPublic,
    ScenarioRunPublic,
    VariantCreate,
    VolunteerQuery,
)
from volmatch.api.service.tables import (
    Job,
    Publication,
    RoundRow,
)
from volmatch.models import ErrorItem, Policy, parse_round

router = APIRouter(tags=["rounds"], route_class=CommitRoute)


def _accepted(response: Response, out: RoundPublic) -> RoundPublic:
    response.status_code = 202
    response.headers["Location"] = f"/rounds/{out.id}"
    return out


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/rounds",
    status_code=202,
    response_model=RoundPublic,
    summary="Launch a round (returns at once; a worker solves it)",
    dependencies=IDEMPOTENT,
    description="JSON: a `RoundCreate` (a whole contract document, or a snapshot of the "
    "stored records). Or the round workbook itself, with content type " + XLSX + ".",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": request_schema(RoundCreate)},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def create_round(
    request: Request,
    raw: Annotated[bytes, Depends(raw_body)],
    db: DbDep,
    session: WriteSession,
    who: Coordinator,
    settings: SettingsDep,
    response: Response,
) -> RoundPublic:
    """The snapshot is read and the document validated before the write transaction
    starts (its connection is taken at the first write): on SQLite the write turn is
    held for the inserts only."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype == XLSX:
        from volmatch.api.sheets import read_workbook_bytes

        r = read_workbook_bytes(raw)
        out = store_round(session, r, name="", source="xlsx", who=who, settings=settings)
        return _accepted(response, out)
    if ctype != "application/json":
        raise ApiError(415, f"send application/json or {XLSX}, not {ctype!r}")
    try:
        body = RoundCreate.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
            parsed = None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)],
            body=parsed,
        ) from None
    if body.document is not None:
        if body.policy is not None or body.volunteers is not None or body.placements is not None:
            raise invalid(
                "request",
                "body",
                "document",
                "give either a whole document or snapshot options (policy, volunteers, "
                "placements), not both",
            )
        doc, source = body.document, "document"
    else:
        with db.read() as reading:
            doc = snapshot(reading, body)
        source = "snapshot"
    r = parse_round(doc)
    out = store_round(session, r, name=body.name, source=source, who=who, settings=settings)
    return _accepted(response, out)


@router.get("/rounds", response_model=list[RoundPublic], summary="Rounds, newest first")
def list_rounds(
    session: ReadSession,
    _: Reader,
    status: JobStatus | None = Query(None, description="Only rounds with this job status."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[RoundPublic]:
    q = (
        select(RoundRow, Job)
        .options(defer(RoundRow.document, raiseload=True))  # megabytes, not listed
        .join(Job, Job.round_id == RoundRow.id)
        .order_by(RoundRow.created_at.desc(), RoundRow.id)
        .limit(limit)
    )
    if status is not None:
        q = q.where(Job.status == status)
    rows = list(session.execute(q))  # Rows unpack as (RoundRow, Job)
    published = (
        set(
            session.scalars(
                select(Publication.round_id).where(
                    Publication.round_id.in_([r.id for r, _ in rows])
                )
            )
        )
        if rows
        else set()
    )
    return [round_public(session, r, j, r.id in published) for r, j in rows]


@router.get("/rounds/{round_id}", response_model=RoundPublic, summary="Status and progress")
def get_round(round_id: RoundPath, session: ReadSession, who: Anyone) -> RoundPublic:
    r, job = round_header(session, round_id, who)
    return round_public(session, r, job)


@router.delete(
    "/rounds/{round_id}", response_model=RoundPublic, summary="Cancel a queued or running round"
)
def cancel_round(round_id: RoundPath, session: WriteSession, who: Anyone) -> RoundPublic:
    return rounds_service.cancel(session, round_id, who)


@router.get(
    "/rounds/{round_id}/events",
    summary="Progress as server-sent events (one `progress` event per change, then `end`)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def round_events(
    round_id: RoundPath, request: Request, db: DbDep, who: Anyone
) -> StreamingResponse:
    """No session outlives this function: the stream reads each state in a short
    session of its own, and ends when the round ends, the client goes or the server
    stops (SIGTERM)."""
    with db.read() as session:
        round_header(session, round_id, who)
    stream = rounds_service.progress_events(db, round_id, request)
    return StreamingResponse(
        stream, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.get("/rounds/{round_id}/document", summary="The frozen round document")
def get_document(round_id: RoundPath, session: ReadSession, who: Anyone) -> dict[str, Any]:
    r, _ = visible_round(session, round_id, who)
    return r.document


def _result(session: Session, round_id: str, job: Job) -> dict[str, Any]:
    return stored_result(session, round_id, job)


@router.get(
    "/rounds/{round_id}/result",
    summary="The explained result (contract shape; reasons for every unmatched volunteer "
    "and open slot)",
)
def get_result(round_id: RoundPath, session: ReadSession, who: Anyone) -> dict[str, Any]:
    _, job = round_header(session, round_id, who)
    return _result(session, round_id, job)


@router.get(
    "/rounds/{round_id}/result.xlsx",
    summary="The result as a workbook (assignments, unmatched, open slots, KPIs)",
    response_class=Response,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def get_result_xlsx(round_id: RoundPath, db: DbDep, who: Anyone) -> Response:
    from volmatch.api.sheets import result_workbook_bytes
    from volmatch.models import Result

    with db.read() as session:
        r, job = visible_round(session, round_id, who)
        stored = _result(session, round_id, job)
    result = Result.model_validate(stored)
    data = result_workbook_bytes(parse_round(r.document), result)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="result-{round_id}.xlsx"'},
    )


@router.get(
    "/rounds/{round_id}/explain",
    response_model=ExplainOut,
    summary="Why a volunteer is placed where they are, or not elsewhere",
)
def explain(
    round_id: RoundPath,
    request: Request,
    db: DbDep,
    who: Anyone,
    volunteer: VolunteerQuery,
    placement: PlacementQuery = None,
) -> ExplainOut:
    # the pages' priced rounds: one pricing per round and process for pages and API
    priced = getattr(request.app.state, "priced_rounds", None)
    rows = rounds_service.explain_pairs(db, round_id, who, volunteer, placement, priced)
    return ExplainOut(volunteer=volunteer, pairs=rows)


@router.post(
    "/rounds/{round_id}/variants",
    status_code=202,
    response_model=RoundPublic,
    summary="A what-if variant: the same round with policy fields replaced",
    dependencies=IDEMPOTENT,
)
def create_variant(
    round_id: RoundPath,
    body: VariantCreate,
    db: DbDep,
    session: WriteSession,
    who: Anyone,
    settings: SettingsDep,
    response: Response,
) -> RoundPublic:
    parent, _ = read_visible(db, round_id, who)
    doc = dict(parent.document)
    base = Policy.model_validate(doc.get("policy", {})).model_dump(mode="json")
    doc["policy"] = {**base, **body.policy.model_dump(mode="json", exclude_unset=True)}
    r = parse_round(doc)
    out = store_round(
        session,
        r,
        name=body.name or f"variant of {parent.name or parent.id}",
        source="variant",
        who=who,
        settings=settings,
        parent_id=parent.id,
    )
    return _accepted(response, out)


@router.post(
    "/rounds/{round_id}/scenarios",
    status_code=202,
    response_model=ScenarioRunPublic,
    summary="What-if scenario against a stored round, run as a durable job (returns at "
    "once; GET /scenario-runs/{id} for progress and the comparison)",
    dependencies=IDEMPOTENT,
)
def run_round_scenario(
    round_id: RoundPath,
    body: Annotated[
        dict[str, Any], Body(description="A scenario (docs/scenarios.md); its base is this round.")
    ],
    db: DbDep,
    session: WriteSession,
    who: Anyone,
    response: Response,
) -> ScenarioRunPublic:
    """Planners and coordinators post a scenario file's content (as JSON). It is checked
    at once (422 with every error naming variant and change), stored as a run and
    solved by a worker, like a round: `GET /scenario-runs/{id}` (or its `/events`
    stream) shows the variants solved and, when done, the same comparison `volmatch
    whatif` prints, as JSON."""
    from volmatch.api.service import scenario_runs
    from volmatch.scenarios.changes import check_scenario
    from volmatch.scenarios.model import ScenarioError, parse_scenario

    read_visible(db, round_id, who)
    raw = dict(body)
    raw["base"] = {"round_id": round_id}
    try:
        scenario = parse_scenario(raw)
        check_scenario(scenario)  # what can be checked before solving: at once
    except ScenarioError as exc:
        raise ApiError(
            422,
            f"{len(exc.errors)} error(s) in scenario",
            errors=[
                ErrorItem(
                    "scenario",
                    e.variant or "scenario",
                    "" if e.change is None else f"change {e.change}",
                    e.message,
                )
                for e in exc.errors
            ],
        ) from exc
    run_id = scenario_runs.enqueue(session, round_id, scenario, raw, who.key_id)
    response.headers["Location"] = f"/scenario-runs/{run_id}"
    run = scenario_runs.read_run(session, run_id)
    assert run is not None
    return ScenarioRunPublic.model_validate(run.public())


@router.post(
    "/rounds/{round_id}/publish",
    status_code=201,
    response_model=PublicationPublic,
    summary="Publish a finished round's assignment (hosts then see their volunteers)",
    dependencies=IDEMPOTENT,
)
def publish(
    round_id: RoundPath, read: ReadSession, session: WriteSession, who: Anyone, response: Response
) -> PublicationPublic:
    ready = ready_reserves(read, round_id, who)  # before the write locks: it prepares the round
    out = rounds_service.publish(session, round_id, who, ready)
    response.headers["Location"] = "/assignments"
    return out

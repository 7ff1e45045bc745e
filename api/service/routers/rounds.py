"""Rounds: frozen snapshots solved as durable jobs; status, progress (also as
server-sent events), cancel, result, explanations, what-if variants, publication.

Host keys see no rounds: every round id is a 404 to them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.db import Database
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
from volmatch.api.service.errors import ApiError, conflict, forbidden, invalid, not_found
from volmatch.api.service.jobs import TERMINAL, new_job
from volmatch.api.service.lifecycle.offers import actor
from volmatch.api.service.lifecycle.publish import start_lifecycle
from volmatch.api.service.queries import (
    add_new,
    latest_publication,
    lock_row,
    placement_rows,
    published_assignments,
    volunteer_rows,
)
from volmatch.api.service.result_pages import stored_result
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import (
    ExplainOut,
    JobStatus,
    PlacementQuery,
    PublicationPublic,
    RoundCreate,
    RoundPublic,
    VariantCreate,
    VolunteerQuery,
)
from volmatch.api.service.settings import Settings
from volmatch.api.service.tables import (
    Job,
    Publication,
    PublishedAssignment,
    RoundRow,
)
from volmatch.models import ErrorItem, InvalidRound, Policy, Round, parse_round, round_to_dict

router = APIRouter(tags=["rounds"], route_class=CommitRoute)


def _public(
    session: Session, r: RoundRow, job: Job, published: bool | None = None
) -> RoundPublic:
    if published is None:
        published = session.scalar(
            select(Publication.id).where(Publication.round_id == r.id)) is not None
    return RoundPublic(
        id=r.id,
        name=r.name,
        source=r.source,
        parent_id=r.parent_id,
        created_at=r.created_at,
        n_volunteers=r.n_volunteers,
        n_placements=r.n_placements,
        status=job.status,
        progress=job.progress,
        attempts=job.attempts,
        error=job.error,
        started_at=job.started_at,
        finished_at=job.finished_at,
        published=published,
    )


def _visible(session: Session, round_id: str, who: Principal) -> tuple[RoundRow, Job]:
    if who.role == "host":
        raise not_found("round", round_id)
    r = session.get(RoundRow, round_id)
    job = session.get(Job, round_id)
    if r is None or job is None:
        raise not_found("round", round_id)
    return r, job


def _check_limits(r: Round, settings: Settings) -> None:
    errors = []
    if len(r.volunteers) > settings.max_round_volunteers:
        errors.append(ErrorItem(
            "volunteers", "volunteers", "",
            f"{len(r.volunteers)} volunteers; a round may hold at most "
            f"{settings.max_round_volunteers}",
        ))
    if len(r.placements) > settings.max_round_placements:
        errors.append(ErrorItem(
            "placements", "placements", "",
            f"{len(r.placements)} placements; a round may hold at most "
            f"{settings.max_round_placements}",
        ))
    if errors:
        raise InvalidRound(errors)


def _snapshot(session: Session, body: RoundCreate) -> dict[str, Any]:
    """A round document from the stored records, as they are now."""
    vols = [dict(r.data) for r in volunteer_rows(session, body.volunteers)]
    pls = [dict(r.data) for r in placement_rows(session, body.placements)]
    errors = []
    for section, asked, got in (
        ("volunteers", body.volunteers, vols),
        ("placements", body.placements, pls),
    ):
        have = {d["id"] for d in got}
        errors += [
            ErrorItem(section, i, "id", f"no stored {section[:-1]} with this id")
            for i in (asked or []) if i not in have
        ]
    if errors:
        raise InvalidRound(errors)
    vids, pids = {v["id"] for v in vols}, {p["id"] for p in pls}
    # References to records left out of the snapshot (a withdrawn need, a volunteer no
    # longer in the pool) are dropped rather than failing the whole round.
    for v in vols:
        if "preferences" in v:
            v["preferences"] = [p for p in v["preferences"] if p in pids]
    for p in pls:
        if "ranking" in p:
            p["ranking"] = [v for v in p["ranking"] if v in vids]
    doc: dict[str, Any] = {"volunteers": vols, "placements": pls}
    if body.policy is not None:
        doc["policy"] = body.policy
    if body.previous_from_published:
        pub = latest_publication(session)
        if pub is not None:
            doc["previous"] = [
                {"volunteer": a.volunteer_id, "placement": a.placement_id,
                 "start": a.start.isoformat(), "months": a.months, "score": a.score}
                for a in published_assignments(session, pub.id)
                if a.volunteer_id in vids and a.placement_id in pids
            ]
    return doc


def _store_round(
    session: Session,
    r: Round,
    *,
    name: str,
    source: str,
    who: Principal,
    settings: Settings,
    parent_id: str | None = None,
) -> RoundPublic:
    _check_limits(r, settings)
    row = RoundRow(
        id=uuid.uuid4().hex,
        name=name,
        source=source,
        parent_id=parent_id,
        created_by=who.key_id,
        n_volunteers=len(r.volunteers),
        n_placements=len(r.placements),
        document=round_to_dict(r),
    )
    session.add(row)
    session.flush()
    job = new_job(session, row.id)
    session.flush()
    return _public(session, row, job)


def _read_visible(db: Database, round_id: str, who: Principal) -> tuple[RoundRow, Job]:
    """`_visible` in a short session of its own: for endpoints that then work long
    (explanations, workbooks, scenarios) without holding a connection."""
    with db.read() as session:
        return _visible(session, round_id, who)


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
                "application/json": {"schema": RoundCreate.model_json_schema()},
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
        out = _store_round(session, r, name="", source="xlsx", who=who, settings=settings)
        return _accepted(response, out)
    if ctype != "application/json":
        raise ApiError(415, f"send application/json or {XLSX}, not {ctype!r}")
    try:
        body = RoundCreate.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)],
            body=parsed,
        ) from None
    if body.document is not None:
        if body.policy is not None or body.volunteers is not None or body.placements is not None:
            raise invalid(
                "request", "body", "document",
                "give either a whole document or snapshot options (policy, volunteers, "
                "placements), not both",
            )
        doc, source = body.document, "document"
    else:
        with db.read() as reading:
            doc = _snapshot(reading, body)
        source = "snapshot"
    r = parse_round(doc)
    out = _store_round(session, r, name=body.name, source=source, who=who, settings=settings)
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
        .join(Job, Job.round_id == RoundRow.id)
        .order_by(RoundRow.created_at.desc(), RoundRow.id)
        .limit(limit)
    )
    if status is not None:
        q = q.where(Job.status == status)
    rows = list(session.execute(q).tuples())
    published = set(session.scalars(select(Publication.round_id).where(
        Publication.round_id.in_([r.id for r, _ in rows])))) if rows else set()
    return [_public(session, r, j, r.id in published) for r, j in rows]


@router.get("/rounds/{round_id}", response_model=RoundPublic, summary="Status and progress")
def get_round(round_id: RoundPath, session: ReadSession, who: Anyone) -> RoundPublic:
    r, job = _visible(session, round_id, who)
    return _public(session, r, job)


@router.delete(
    "/rounds/{round_id}", response_model=RoundPublic, summary="Cancel a queued or running round"
)
def cancel_round(round_id: RoundPath, session: WriteSession, who: Anyone) -> RoundPublic:
    r, _ = _visible(session, round_id, who)
    job = lock_row(session, Job, round_id)
    assert job is not None
    if who.role == "planner" and r.source != "variant":
        raise forbidden("cancel rounds other than what-if variants")
    if job.status in TERMINAL:
        raise ApiError(409, f"round {round_id!r} has already finished ({job.status})")
    if job.status == "queued":
        job.status, job.progress = "cancelled", {**job.progress, "stage": "cancelled"}
    else:
        # The worker notices at its next heartbeat or stage and stores no result.
        job.cancel_requested = True
    session.flush()
    return _public(session, r, job)


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
    _read_visible(db, round_id, who)
    poll = float(request.app.state.settings.poll_s)
    stopping = request.app.state.stopping

    def read() -> dict[str, Any] | None:
        with db.read() as s:
            job = s.get(Job, round_id)
            if job is None:
                return None
            return {"status": job.status, "attempts": job.attempts, "progress": job.progress}

    async def stream() -> AsyncIterator[str]:
        last: str | None = None
        while True:
            state = await asyncio.to_thread(read)
            if state is None:
                return
            text = json.dumps(state, sort_keys=True)
            if text != last:
                yield f"event: progress\ndata: {text}\n\n"
                last = text
            if state["status"] in TERMINAL:
                yield f"event: end\ndata: {json.dumps({'status': state['status']})}\n\n"
                return
            if stopping.is_set() or await request.is_disconnected():
                return
            await asyncio.sleep(poll)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


@router.get("/rounds/{round_id}/document", summary="The frozen round document")
def get_document(round_id: RoundPath, session: ReadSession, who: Anyone) -> dict[str, Any]:
    r, _ = _visible(session, round_id, who)
    return r.document


def _result(session: Session, round_id: str, job: Job) -> dict[str, Any]:
    return stored_result(session, round_id, job)


@router.get(
    "/rounds/{round_id}/result",
    summary="The explained result (contract shape; reasons for every unmatched volunteer "
    "and open slot)",
)
def get_result(round_id: RoundPath, session: ReadSession, who: Anyone) -> dict[str, Any]:
    _, job = _visible(session, round_id, who)
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
        r, job = _visible(session, round_id, who)
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
    db: DbDep,
    who: Anyone,
    volunteer: VolunteerQuery,
    placement: PlacementQuery = None,
) -> ExplainOut:
    import numpy as np

    from volmatch.matching import prepare
    from volmatch.matching.explain import explain_volunteer, is_pure_optimum, pricing

    with db.read() as session:
        r, job = _visible(session, round_id, who)
        result = _result(session, round_id, job)
    prep = prepare(parse_round(r.document))
    c, pairs = prep.compiled, prep.pairs
    if volunteer not in c.vindex:
        raise not_found("volunteer in this round", volunteer)
    if placement is not None and placement not in c.pindex:
        raise not_found("placement in this round", placement)
    at = {
        (int(v), int(p)): i for i, (v, p) in enumerate(zip(pairs.v.tolist(), pairs.p.tolist(),
                                                            strict=True))
    }
    chosen = np.array(
        sorted(
            at[(c.vindex[a["volunteer"]], c.pindex[a["placement"]])]
            for a in result["assignments"]
            if (c.vindex.get(a["volunteer"]), c.pindex.get(a["placement"])) in at
        ),
        dtype=np.intp,
    )
    only = None if placement is None else [c.pindex[placement]]
    exact = is_pure_optimum(prep, str(result["status"]), str(result["mode"]))
    pr = pricing(prep, chosen, exact)
    rows = explain_volunteer(pr, chosen, c.vindex[volunteer], only)
    return ExplainOut(volunteer=volunteer, pairs=json.loads(json.dumps(rows, default=str)))


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
    parent, _ = _read_visible(db, round_id, who)
    doc = dict(parent.document)
    base = Policy.model_validate(doc.get("policy", {})).model_dump(mode="json")
    doc["policy"] = {**base, **body.policy}
    r = parse_round(doc)
    out = _store_round(
        session, r, name=body.name or f"variant of {parent.name or parent.id}",
        source="variant", who=who, settings=settings, parent_id=parent.id,
    )
    return _accepted(response, out)


@router.post(
    "/rounds/{round_id}/scenarios",
    summary="What-if scenario against a stored round: the comparison of its variants",
    dependencies=IDEMPOTENT,
)
def run_round_scenario(
    round_id: RoundPath,
    body: Annotated[dict[str, Any], Body(description="A scenario (docs/scenarios.md); its "
                                        "base is this round.")],
    db: DbDep,
    who: Anyone,
) -> dict[str, Any]:
    """Planners and coordinators post a scenario file's content (as JSON) and get the
    same comparison `volmatch whatif` prints, as JSON. It runs in the request: keep
    variants few, or run `volmatch whatif` for large sweeps."""
    from volmatch.scenarios.model import ScenarioError, parse_scenario
    from volmatch.scenarios.runner import run_scenario

    parent, _ = _read_visible(db, round_id, who)
    raw = dict(body)
    raw["base"] = {"round_id": round_id}
    try:
        scenario = parse_scenario(raw)
        comparison = run_scenario(parse_round(parent.document), scenario)
    except ScenarioError as exc:
        raise ApiError(
            422,
            f"{len(exc.errors)} error(s) in scenario",
            errors=[
                ErrorItem("scenario", e.variant or "scenario",
                          "" if e.change is None else f"change {e.change}", e.message)
                for e in exc.errors
            ],
        ) from exc
    out: dict[str, Any] = json.loads(json.dumps(comparison.to_dict(), default=str))
    return out


@router.post(
    "/rounds/{round_id}/publish",
    status_code=201,
    response_model=PublicationPublic,
    summary="Publish a finished round's assignment (hosts then see their volunteers; "
    "every assignment becomes an offer answerable for policy.offer_days)",
    dependencies=IDEMPOTENT,
)
def publish(
    round_id: RoundPath, session: WriteSession, who: Anyone, response: Response
) -> PublicationPublic:
    r, job = _visible(session, round_id, who)
    if who.role != "coordinator":
        raise forbidden("publish results")
    result = _result(session, round_id, job)
    if session.scalar(select(Publication.id).where(Publication.round_id == round_id)):
        raise conflict(f"round {round_id!r} is already published", [round_id])
    hosts = {p["id"]: p["host"] for p in r.document.get("placements", [])}
    pub = Publication(round_id=round_id, published_by=who.key_id)
    if not add_new(session, pub):
        raise conflict(f"round {round_id!r} was published by a concurrent request",
                       [round_id])
    response.headers["Location"] = "/assignments"
    for a in result["assignments"]:
        session.add(PublishedAssignment(
            publication_id=pub.id,
            volunteer_id=a["volunteer"],
            placement_id=a["placement"],
            host_id=hosts[a["placement"]],
            start=dt.date.fromisoformat(a["start"]),
            months=a["months"],
            score=a["score"],
        ))
    session.flush()
    start_lifecycle(session, round_id, r.document, result, by=actor(who))
    return PublicationPublic(
        round_id=round_id, published_at=pub.published_at, assignments=len(result["assignments"])
    )

"""What-if scenario runs (posted with `POST /rounds/{id}/scenarios`): their status,
progress and comparison, also as server-sent events, and their cancellation (`DELETE`,
as for rounds). Planners and coordinators only: host keys get 404, as for rounds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse

from volmatch.api.service import scenario_runs
from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import Anyone, DbDep, ReadSession, WriteSession
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ScenarioRunPublic

router = APIRouter(tags=["rounds"], route_class=CommitRoute)

RunPath = Annotated[
    str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]+$", description="Scenario run id.")
]


def _visible(session: Any, run_id: str, who: Principal) -> scenario_runs.RunView:
    run = scenario_runs.read_run(session, run_id)
    if run is None or who.role == "host":
        raise not_found("scenario run", run_id)
    return run


@router.get(
    "/scenario-runs/{run_id}",
    response_model=ScenarioRunPublic,
    summary="A scenario run: status (queued, running, done, failed, cancelled), variants "
    "solved, and the comparison once done",
)
def get_run(run_id: RunPath, session: ReadSession, who: Anyone) -> ScenarioRunPublic:
    return ScenarioRunPublic.model_validate(_visible(session, run_id, who).public())


@router.delete(
    "/scenario-runs/{run_id}",
    response_model=ScenarioRunPublic,
    summary="Cancel a queued or running scenario run (409 once it has finished)",
)
def cancel_run(run_id: RunPath, session: WriteSession, who: Anyone) -> ScenarioRunPublic:
    _visible(session, run_id, who)
    try:
        run = scenario_runs.cancel(session, run_id)
    except scenario_runs.RunFinished as exc:
        raise ApiError(409, f"scenario run {run_id!r} has already finished ({exc})") from exc
    if run is None:
        raise not_found("scenario run", run_id)
    return ScenarioRunPublic.model_validate(run.public())


@router.get(
    "/scenario-runs/{run_id}/events",
    summary="A scenario run's progress as server-sent events (`progress`, then `end`)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def run_events(run_id: RunPath, request: Request, db: DbDep, who: Anyone) -> StreamingResponse:
    with db.read() as session:
        _visible(session, run_id, who)
    return StreamingResponse(
        scenario_runs.progress_events(db, run_id, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache"},
    )

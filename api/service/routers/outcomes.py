"""Outcomes of deployments (a host key sees its own placements')."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from volmatch.api.service.deps import Anyone, ReadSession
from volmatch.api.service.errors import forbidden
from volmatch.api.service.lifecycle.outcomes import list_outcomes, outcome_public
from volmatch.api.service.lifecycle.schemas import OutcomePublic
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ROUND_ID_PATTERN

router = APIRouter(tags=["outcomes"], route_class=CommitRoute)


@router.get(
    "/outcomes",
    response_model=list[OutcomePublic],
    summary="How deployments ended, with ratings and reports",
)
def get_outcomes(
    session: ReadSession,
    who: Anyone,
    round_id: Annotated[str | None, Query(alias="round", pattern=ROUND_ID_PATTERN)] = None,
) -> list[OutcomePublic]:
    if who.role == "planner":
        raise forbidden("read outcomes")
    host = who.host_id if who.role == "host" else None
    return [
        OutcomePublic(**outcome_public(r))
        for r in list_outcomes(session, round_id=round_id, host_id=host)
    ]

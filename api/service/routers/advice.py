"""Advice: feasibility of a need while it is written (drafts and stored needs), and
recommendations with exact regrets for a need or a volunteer (docs/advice.md).

The work is in `api/service/advice.py` (callable from the web pages too); the warm
rounds it reads live on `app.state.warm`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from volmatch.api.service import advice
from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import (
    Anyone,
    PlacementPath,
    ReadSession,
    VolunteerPath,
)
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ROUND_ID_PATTERN
from volmatch.api.service.warm import WarmRounds, warm_rounds
from volmatch.matching.advice import DEFAULT_TOP
from volmatch.models import Placement

router = APIRouter(tags=["advice"], route_class=CommitRoute)

RoundQuery = Annotated[
    str | None,
    Query(pattern=ROUND_ID_PATTERN, description="Round to advise against (default: the latest)."),
]
TopQuery = Annotated[int, Query(ge=0, le=1000, description="Recommendations to list.")]


def _coordinator(who: Principal, kind: str, ident: str) -> None:
    """Recommendations name volunteers: coordinators only. A host key gets the 404 of
    any id it cannot see (as rounds are to hosts); a planner a 403."""
    if who.role == "host":
        raise not_found(kind, ident)
    if who.role != "coordinator":
        raise ApiError(403, f"a {who.role} key may not do this (needs coordinator)")


def _warm(request: Request) -> WarmRounds:
    return warm_rounds(request.app)


@router.post("/placements/feasibility", summary="Feasibility of a draft need")
def draft_feasibility(
    body: Placement,
    request: Request,
    session: ReadSession,
    who: Anyone,
    round: RoundQuery = None,
) -> dict[str, Any]:
    return advice.feasibility_for(session, _warm(request), body, who, round)


@router.get("/placements/{placement_id}/feasibility", summary="Feasibility of a stored need")
def stored_feasibility(
    placement_id: PlacementPath,
    request: Request,
    session: ReadSession,
    who: Anyone,
    round: RoundQuery = None,
) -> dict[str, Any]:
    return advice.placement_feasibility(session, _warm(request), placement_id, who, round)


@router.get(
    "/placements/{placement_id}/recommendations",
    summary="The best volunteers for a need, by exact regret",
)
def need_recommendations(
    placement_id: PlacementPath,
    request: Request,
    session: ReadSession,
    who: Anyone,
    top: TopQuery = DEFAULT_TOP,
    round: RoundQuery = None,
) -> dict[str, Any]:
    _coordinator(who, "placement", placement_id)
    return advice.placement_recommendations(session, _warm(request), placement_id, who, top, round)


@router.get(
    "/volunteers/{volunteer_id}/recommendations",
    summary="The best placements for a volunteer, by exact regret",
)
def volunteer_recommendations(
    volunteer_id: VolunteerPath,
    request: Request,
    session: ReadSession,
    who: Anyone,
    top: TopQuery = DEFAULT_TOP,
    round: RoundQuery = None,
) -> dict[str, Any]:
    _coordinator(who, "volunteer", volunteer_id)
    return advice.volunteer_recommendations(session, _warm(request), volunteer_id, top, round)

"""The published assignment: who goes where, as last published by a coordinator."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from volmatch.api.service.deps import Anyone, SessionDep
from volmatch.api.service.routers.volunteers import latest_publication
from volmatch.api.service.schemas import AssignmentPublic
from volmatch.api.service.tables import PublishedAssignment

router = APIRouter(tags=["assignments"])


@router.get(
    "/assignments",
    response_model=list[AssignmentPublic],
    summary="The latest published assignment (a host key sees its own placements only)",
)
def list_assignments(session: SessionDep, who: Anyone) -> list[AssignmentPublic]:
    pub = latest_publication(session)
    if pub is None:
        return []
    q = (
        select(PublishedAssignment)
        .where(PublishedAssignment.publication_id == pub.id)
        .order_by(PublishedAssignment.volunteer_id)
    )
    if who.role == "host":
        q = q.where(PublishedAssignment.host_id == who.host_id)
    return [
        AssignmentPublic(
            volunteer=a.volunteer_id, placement=a.placement_id, host=a.host_id,
            start=a.start, months=a.months, score=a.score,
        )
        for a in session.scalars(q)
    ]

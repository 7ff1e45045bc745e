"""The published assignment: who goes where, as last published by a coordinator."""

from __future__ import annotations

from fastapi import APIRouter

from volmatch.api.service.deps import Anyone, ReadSession
from volmatch.api.service.queries import latest_publication, published_assignment_fields
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import AssignmentPublic

router = APIRouter(tags=["assignments"], route_class=CommitRoute)


@router.get(
    "/assignments",
    response_model=list[AssignmentPublic],
    summary="The latest published assignment (a host key sees its own placements only)",
)
def list_assignments(session: ReadSession, who: Anyone) -> list[AssignmentPublic]:
    pub = latest_publication(session)
    if pub is None:
        return []
    host_id = (who.host_id or "") if who.role == "host" else None
    return [
        AssignmentPublic.model_validate(a)
        for a in published_assignment_fields(session, pub.id, host_id)
    ]

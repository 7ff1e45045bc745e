"""Host partner pages: the host's own needs (placements)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from volmatch.api.service.deps import ReadSession
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.tables import PlacementRow
from volmatch.api.web.deps import HostPage
from volmatch.api.web.render import render
from volmatch.models import Placement

router = APIRouter(route_class=CommitRoute, include_in_schema=False)


@router.get("/host/needs")
def my_needs(request: Request, user: HostPage, session: ReadSession) -> Response:
    rows = session.scalars(select(PlacementRow).where(PlacementRow.host_id == user.host_id)
                           .order_by(PlacementRow.id))
    needs = [Placement.model_validate(r.data) for r in rows]
    return render(request, "host/needs.html", user=user, needs=needs)

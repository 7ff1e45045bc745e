"""Placements: host partners' needs with their needs assessment.

A host key sees and changes only its own host's placements. Placement ids are one
namespace for every host (rounds, preferences and results name placements by id). To a
host key, an id that another host holds is a 404 everywhere, `POST /placements`
included, with the same body as an id that nobody holds: a create with it fails, as
with any name already taken in a shared namespace, but the answer never says whose it
is nor shows anything of it (docs/service.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from volmatch.api.service import placement_store
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    PlacementPath,
    ReadSession,
    WriteSession,
)
from volmatch.api.service.errors import forbidden, not_found
from volmatch.api.service.queries import lock_row
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import HostQuery, PlacementPublic
from volmatch.api.service.tables import PlacementRow
from volmatch.models import Placement

router = APIRouter(tags=["placements"], route_class=CommitRoute)


def _public(row: PlacementRow) -> PlacementPublic:
    return PlacementPublic(placement=Placement.model_validate(row.data), updated_at=row.updated_at)


@router.post(
    "/placements",
    status_code=201,
    response_model=PlacementPublic,
    summary="Submit a need",
    dependencies=IDEMPOTENT,
)
def create_placement(
    body: Placement, session: WriteSession, who: Anyone, response: Response
) -> PlacementPublic:
    row = placement_store.create_placement(session, body, who)
    response.headers["Location"] = f"/placements/{row.id}"
    return _public(row)


@router.put(
    "/placements/{placement_id}",
    response_model=PlacementPublic,
    summary="Create or replace a need",
    responses={201: {"model": PlacementPublic, "description": "Created"}},
)
def put_placement(
    placement_id: PlacementPath,
    body: Placement,
    session: WriteSession,
    who: Anyone,
    response: Response,
) -> PlacementPublic:
    row, created = placement_store.put_placement(session, placement_id, body, who)
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/placements/{row.id}"
    return _public(row)


@router.get("/placements", response_model=list[PlacementPublic], summary="Needs")
def list_placements(
    session: ReadSession,
    who: Anyone,
    host: HostQuery = None,
) -> list[PlacementPublic]:
    return [_public(r) for r in placement_store.visible_placements(session, who, host)]


@router.get("/placements/{placement_id}", response_model=PlacementPublic, summary="One need")
def get_placement(
    placement_id: PlacementPath, session: ReadSession, who: Anyone
) -> PlacementPublic:
    return _public(placement_store.visible_placement(session, placement_id, who))


@router.delete("/placements/{placement_id}", status_code=204, summary="Withdraw a need")
def delete_placement(placement_id: PlacementPath, session: WriteSession, who: Anyone) -> Response:
    row = lock_row(session, PlacementRow, placement_id)
    if row is None or (who.role == "host" and row.host_id != who.host_id):
        raise not_found("placement", placement_id)
    if who.role == "planner":
        raise forbidden("change placements")
    session.delete(row)
    return Response(status_code=204)

"""Placements: host partners' needs with their needs assessment.

A host key sees and changes only its own host's placements; any other id is a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy import select

from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import Anyone, SessionDep
from volmatch.api.service.errors import ApiError, forbidden, invalid, not_found
from volmatch.api.service.queries import ensure_host
from volmatch.api.service.schemas import PlacementPublic
from volmatch.api.service.tables import PlacementRow, utcnow
from volmatch.models import Placement

router = APIRouter(tags=["placements"])


def _public(row: PlacementRow) -> PlacementPublic:
    return PlacementPublic(placement=Placement.model_validate(row.data), updated_at=row.updated_at)


def _visible(session: SessionDep, placement_id: str, who: Principal) -> PlacementRow:
    row = session.get(PlacementRow, placement_id)
    if row is None or (who.role == "host" and row.host_id != who.host_id):
        raise not_found("placement", placement_id)
    return row


def _may_write(p: Placement, who: Principal) -> None:
    if who.role == "planner":
        raise forbidden("change placements")
    if who.role == "host" and p.host != who.host_id:
        raise ApiError(
            403, f"a host key may only submit placements of its own host ({who.host_id})"
        )


def _data(p: Placement) -> dict[str, object]:
    return p.model_dump(mode="json", exclude_defaults=True)


@router.post(
    "/placements", status_code=201, response_model=PlacementPublic, summary="Submit a need"
)
def create_placement(body: Placement, session: SessionDep, who: Anyone) -> PlacementPublic:
    _may_write(body, who)
    if session.get(PlacementRow, body.id) is not None:
        raise ApiError(409, f"placement id {body.id!r} is taken; PUT /placements/{{id}} updates")
    ensure_host(session, body.host)
    row = PlacementRow(id=body.id, host_id=body.host, data=_data(body))
    session.add(row)
    session.flush()
    return _public(row)


@router.put(
    "/placements/{placement_id}",
    response_model=PlacementPublic,
    summary="Create or replace a need",
)
def put_placement(
    placement_id: str, body: Placement, session: SessionDep, who: Anyone, response: Response
) -> PlacementPublic:
    row = session.get(PlacementRow, placement_id)
    if row is not None and who.role == "host" and row.host_id != who.host_id:
        raise not_found("placement", placement_id)
    _may_write(body, who)
    if body.id != placement_id:
        raise invalid(
            "placements", placement_id, "id", f"the body's id {body.id!r} is not the URL's"
        )
    ensure_host(session, body.host)
    if row is None:
        row = PlacementRow(id=body.id, host_id=body.host, data=_data(body))
        session.add(row)
        response.status_code = 201
    else:
        row.host_id, row.data, row.updated_at = body.host, _data(body), utcnow()
    session.flush()
    return _public(row)


@router.get("/placements", response_model=list[PlacementPublic], summary="Needs")
def list_placements(
    session: SessionDep,
    who: Anyone,
    host: str | None = Query(None, description="Only this host's placements."),
) -> list[PlacementPublic]:
    q = select(PlacementRow).order_by(PlacementRow.id)
    if who.role == "host":
        q = q.where(PlacementRow.host_id == who.host_id)
    if host is not None:
        q = q.where(PlacementRow.host_id == host)
    return [_public(r) for r in session.scalars(q)]


@router.get(
    "/placements/{placement_id}", response_model=PlacementPublic, summary="One need"
)
def get_placement(placement_id: str, session: SessionDep, who: Anyone) -> PlacementPublic:
    return _public(_visible(session, placement_id, who))


@router.delete("/placements/{placement_id}", status_code=204, summary="Withdraw a need")
def delete_placement(placement_id: str, session: SessionDep, who: Anyone) -> Response:
    row = _visible(session, placement_id, who)
    if who.role == "planner":
        raise forbidden("change placements")
    session.delete(row)
    return Response(status_code=204)

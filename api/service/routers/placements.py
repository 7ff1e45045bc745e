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
from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    PlacementPath,
    ReadSession,
    WriteSession,
)
from volmatch.api.service.errors import ApiError, conflict, forbidden, invalid, not_found
from volmatch.api.service.queries import add_new, ensure_host, lock_row
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import HostQuery, PlacementPublic
from volmatch.api.service.tables import PlacementRow, utcnow
from volmatch.models import Placement

router = APIRouter(tags=["placements"], route_class=CommitRoute)


def _public(row: PlacementRow) -> PlacementPublic:
    return PlacementPublic(placement=Placement.model_validate(row.data), updated_at=row.updated_at)


def _visible(session: Session, placement_id: str, who: Principal) -> PlacementRow:
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


def _insert(session: Session, row: PlacementRow, who: Principal) -> None:
    """Insert a new placement; a concurrent insert of the same id that committed first
    is a 409 (or, for a host key and another host's record, the 404 of any unknown id)."""
    if add_new(session, row):
        return
    other = session.get(PlacementRow, row.id, populate_existing=True)
    if other is not None and who.role == "host" and other.host_id != who.host_id:
        raise not_found("placement", row.id)
    raise conflict(
        f"placement id {row.id!r} was created by a concurrent request; "
        "PUT /placements/{id} updates it", [row.id],
    )


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
    _may_write(body, who)
    held = session.get(PlacementRow, body.id)
    if held is not None:
        if who.role == "host" and held.host_id != who.host_id:
            raise not_found("placement", body.id)  # the same answer as any unknown id
        raise conflict(f"placement id {body.id!r} is taken; PUT /placements/{{id}} updates",
                       [body.id])
    ensure_host(session, body.host)
    row = PlacementRow(id=body.id, host_id=body.host, data=_data(body))
    _insert(session, row, who)
    response.headers["Location"] = f"/placements/{row.id}"
    return _public(row)


@router.put(
    "/placements/{placement_id}",
    response_model=PlacementPublic,
    summary="Create or replace a need",
    responses={201: {"model": PlacementPublic, "description": "Created"}},
)
def put_placement(
    placement_id: PlacementPath, body: Placement, session: WriteSession, who: Anyone,
    response: Response,
) -> PlacementPublic:
    row = lock_row(session, PlacementRow, placement_id)
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
        _insert(session, row, who)
        response.status_code = 201
        response.headers["Location"] = f"/placements/{row.id}"
    else:
        row.host_id, row.data, row.updated_at = body.host, _data(body), utcnow()
    session.flush()
    return _public(row)


@router.get("/placements", response_model=list[PlacementPublic], summary="Needs")
def list_placements(
    session: ReadSession,
    who: Anyone,
    host: HostQuery = None,
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
def get_placement(
    placement_id: PlacementPath, session: ReadSession, who: Anyone
) -> PlacementPublic:
    return _public(_visible(session, placement_id, who))


@router.delete("/placements/{placement_id}", status_code=204, summary="Withdraw a need")
def delete_placement(placement_id: PlacementPath, session: WriteSession, who: Anyone) -> Response:
    row = lock_row(session, PlacementRow, placement_id)
    if row is None or (who.role == "host" and row.host_id != who.host_id):
        raise not_found("placement", placement_id)
    if who.role == "planner":
        raise forbidden("change placements")
    session.delete(row)
    return Response(status_code=204)

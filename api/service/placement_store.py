"""Writing and reading placements under the callers' rights: the rules the API's
`/placements` routes and the host partners' pages share (one copy of them).

A host key sees and changes only its own host's placements; to it, an id that another
host holds is the 404 of an unknown id, on create too (docs/service.md).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.errors import ApiError, conflict, forbidden, invalid, not_found
from volmatch.api.service.queries import add_new, ensure_host, lock_row
from volmatch.api.service.tables import PlacementRow, utcnow
from volmatch.models import Placement


def visible_placement(session: Session, placement_id: str, who: Principal) -> PlacementRow:
    """The placement `placement_id` if the caller may see it, else a 404."""
    row = session.get(PlacementRow, placement_id)
    if row is None or (who.role == "host" and row.host_id != who.host_id):
        raise not_found("placement", placement_id)
    return row


def visible_placements(
    session: Session, who: Principal, host: str | None = None
) -> list[PlacementRow]:
    """The placements the caller may see (a host's own), of `host` when given, by id."""
    q = select(PlacementRow).order_by(PlacementRow.id)
    if who.role == "host":
        q = q.where(PlacementRow.host_id == who.host_id)
    if host is not None:
        q = q.where(PlacementRow.host_id == host)
    return list(session.scalars(q))


def may_write(p: Placement, who: Principal) -> None:
    """403 unless the caller may write `p` (planners never; hosts their own only)."""
    if who.role == "planner":
        raise forbidden("change placements")
    if who.role == "host" and p.host != who.host_id:
        raise ApiError(
            403, f"a host key may only submit placements of its own host ({who.host_id})"
        )


def placement_data(p: Placement) -> dict[str, object]:
    """What is stored of a placement: its JSON without the defaults."""
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
        "PUT /placements/{id} updates it",
        [row.id],
    )


def create_placement(session: Session, body: Placement, who: Principal) -> PlacementRow:
    """Store a new placement (409 when its id is taken; 404 to a host when another
    host holds it)."""
    may_write(body, who)
    held = session.get(PlacementRow, body.id)
    if held is not None:
        if who.role == "host" and held.host_id != who.host_id:
            raise not_found("placement", body.id)  # the same answer as any unknown id
        raise conflict(
            f"placement id {body.id!r} is taken; PUT /placements/{{id}} updates", [body.id]
        )
    ensure_host(session, body.host)
    row = PlacementRow(id=body.id, host_id=body.host, data=placement_data(body))
    _insert(session, row, who)
    return row


def put_placement(
    session: Session, placement_id: str, body: Placement, who: Principal
) -> tuple[PlacementRow, bool]:
    """Create or replace the placement `placement_id`; return it and whether it is new."""
    row = lock_row(session, PlacementRow, placement_id)
    if row is not None and who.role == "host" and row.host_id != who.host_id:
        raise not_found("placement", placement_id)
    may_write(body, who)
    if body.id != placement_id:
        raise invalid(
            "placements", placement_id, "id", f"the body's id {body.id!r} is not the URL's"
        )
    ensure_host(session, body.host)
    created = row is None
    if row is None:
        row = PlacementRow(id=body.id, host_id=body.host, data=placement_data(body))
        _insert(session, row, who)
    else:
        row.host_id, row.data, row.updated_at = body.host, placement_data(body), utcnow()
    session.flush()
    return row, created

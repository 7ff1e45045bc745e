"""Volunteers: the pool (coordinators), matched people (hosts), erasure and export."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    Coordinator,
    ReadSession,
    SettingsDep,
    VolunteerPath,
    WriteSession,
)
from volmatch.api.service.errors import forbidden, invalid, not_found
from volmatch.api.service.host_view import for_host, host_volunteers
from volmatch.api.service.pool import record_data, store_volunteers
from volmatch.api.service.privacy import erase_volunteer, export_volunteer
from volmatch.api.service.queries import (
    host_assignments,
    lock_row,
    upsert,
    volunteer_rows,
)
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import (
    UploadSummary,
    VolunteerForHost,
    VolunteerPublic,
    VolunteersUpload,
)
from volmatch.api.service.tables import VolunteerRow, utcnow
from volmatch.models import Volunteer

router = APIRouter(tags=["volunteers"], route_class=CommitRoute)


def _public(row: VolunteerRow) -> VolunteerPublic:
    return VolunteerPublic(volunteer=Volunteer.model_validate(row.data), updated_at=row.updated_at)


def _visible(session: Session, vid: str, who: Principal, lock: bool = False) -> VolunteerRow:
    row = lock_row(session, VolunteerRow, vid) if lock else session.get(VolunteerRow, vid)
    if row is None:
        raise not_found("volunteer", vid)
    if who.role == "host" and vid not in host_assignments(session, who.host_id or ""):
        raise not_found("volunteer", vid)
    return row


@router.post(
    "/volunteers",
    response_model=UploadSummary,
    summary="Upload volunteers (existing ids are replaced)",
    dependencies=IDEMPOTENT,
)
def upload_volunteers(
    body: VolunteersUpload, session: WriteSession, _: Coordinator, settings: SettingsDep
) -> UploadSummary:
    """Create or replace every volunteer of the batch in one transaction, committed
    before the answer. `created` and `updated` say which ids were new when the upload
    read the pool; two uploads of the same new id at once both succeed (the later
    commit's record stays), so each may list it as created."""
    if len(body.volunteers) > settings.max_round_volunteers:
        raise invalid(
            "volunteers",
            "volunteers",
            "",
            f"{len(body.volunteers)} volunteers in one upload; the limit is "
            f"{settings.max_round_volunteers}",
        )
    seen: set[str] = set()
    for v in body.volunteers:
        if v.id in seen:
            raise invalid("volunteers", v.id, "id", "duplicate id in the upload")
        seen.add(v.id)
    created, updated = store_volunteers(session, body.volunteers)
    return UploadSummary(created=created, updated=updated)


@router.get(
    "/volunteers",
    response_model=list[VolunteerPublic] | list[VolunteerForHost],
    summary="The pool (coordinators, planners) or the volunteers matched to a host",
)
def list_volunteers(
    session: ReadSession, who: Anyone
) -> list[VolunteerPublic] | list[VolunteerForHost]:
    if who.role == "host":
        return host_volunteers(session, who.host_id or "")
    return [_public(r) for r in volunteer_rows(session)]


@router.get(
    "/volunteers/{volunteer_id}",
    response_model=VolunteerPublic | VolunteerForHost,
    summary="One volunteer",
)
def get_volunteer(
    volunteer_id: VolunteerPath, session: ReadSession, who: Anyone
) -> VolunteerPublic | VolunteerForHost:
    row = _visible(session, volunteer_id, who)
    if who.role == "host":
        return for_host(row, host_assignments(session, who.host_id or "")[volunteer_id])
    return _public(row)


@router.put(
    "/volunteers/{volunteer_id}",
    response_model=VolunteerPublic,
    summary="Create or replace",
    responses={201: {"model": VolunteerPublic, "description": "Created"}},
)
def put_volunteer(
    volunteer_id: VolunteerPath,
    body: Volunteer,
    session: WriteSession,
    who: Anyone,
    response: Response,
) -> VolunteerPublic:
    if who.role == "host":
        _visible(session, volunteer_id, who)
    if who.role != "coordinator":
        raise forbidden("change volunteers")
    if body.id != volunteer_id:
        raise invalid(
            "volunteers", volunteer_id, "id", f"the body's id {body.id!r} is not the URL's"
        )
    created = session.get(VolunteerRow, volunteer_id) is None
    upsert(
        session,
        VolunteerRow.__table__,
        [{"id": body.id, "data": record_data(body), "updated_at": utcnow()}],
        ["data", "updated_at"],
    )
    row = session.get(VolunteerRow, volunteer_id, populate_existing=True)
    assert row is not None
    if created:
        response.status_code = 201
        response.headers["Location"] = f"/volunteers/{row.id}"
    return _public(row)


@router.delete(
    "/volunteers/{volunteer_id}",
    summary="Erase a volunteer's personal data (pseudonymises history)",
)
def delete_volunteer(
    volunteer_id: VolunteerPath, session: WriteSession, who: Anyone
) -> dict[str, Any]:
    _visible(session, volunteer_id, who, lock=True)
    if who.role != "coordinator":
        raise forbidden("erase volunteers")
    return erase_volunteer(session, volunteer_id)


@router.get(
    "/volunteers/{volunteer_id}/export",
    summary="Everything held about a volunteer, as JSON",
)
def export(volunteer_id: VolunteerPath, session: ReadSession, who: Anyone) -> dict[str, Any]:
    _visible(session, volunteer_id, who)
    if who.role != "coordinator":
        raise forbidden("export personal data")
    return export_volunteer(session, volunteer_id)

"""What a host partner may see of the volunteers matched to it (the API's
`/volunteers` for a host key and the host's pages share it): enough to prepare the
placement, nothing more (no birth date, gender, nationality)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from volmatch.api.service.queries import host_assignments, volunteer_rows
from volmatch.api.service.schemas import VolunteerForHost
from volmatch.api.service.tables import PublishedAssignment, VolunteerRow


def for_host(row: VolunteerRow, a: PublishedAssignment) -> VolunteerForHost:
    """The host's view of one matched volunteer."""
    d = row.data
    return VolunteerForHost(
        id=row.id,
        name=d.get("name"),
        languages=d.get("languages", {}),
        skills=d.get("skills", {}),
        placement=a.placement_id,
        start=a.start,
        months=a.months,
    )


def host_volunteers(session: Session, host_id: str) -> list[VolunteerForHost]:
    """The volunteers of the latest publication matched to `host_id`'s needs, by id."""
    mine = host_assignments(session, host_id)
    return [for_host(r, mine[r.id]) for r in volunteer_rows(session, mine)]

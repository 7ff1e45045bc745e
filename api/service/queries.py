"""The database queries that more than one part of the service needs (routers, and
API-key creation), in one module they import: routers never import each other.

Each takes the caller's session and returns table rows; what a caller may see is
decided by the router. `ensure_host` is the one write among them.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.tables import Host, Publication, PublishedAssignment, VolunteerRow

IN_CHUNK = 500
"""Ids per `IN (...)` clause: SQLite caps the number of bound parameters of a statement."""


def latest_publication(session: Session) -> Publication | None:
    """The publication coordinators made last, or None before the first one."""
    return session.scalars(
        select(Publication).order_by(Publication.published_at.desc(), Publication.id.desc())
    ).first()


def published_assignments(
    session: Session, publication_id: int, host_id: str | None = None
) -> list[PublishedAssignment]:
    """A publication's assignments by volunteer id (only those at `host_id`'s placements
    when given)."""
    q = (
        select(PublishedAssignment)
        .where(PublishedAssignment.publication_id == publication_id)
        .order_by(PublishedAssignment.volunteer_id)
    )
    if host_id is not None:
        q = q.where(PublishedAssignment.host_id == host_id)
    return list(session.scalars(q))


def host_assignments(session: Session, host_id: str) -> dict[str, PublishedAssignment]:
    """Volunteer id -> assignment, of the latest published result, at `host_id`."""
    pub = latest_publication(session)
    if pub is None:
        return {}
    return {a.volunteer_id: a for a in published_assignments(session, pub.id, host_id)}


def volunteer_rows(session: Session, ids: Iterable[str] | None = None) -> list[VolunteerRow]:
    """The stored volunteers by id: all of them, or those with these ids (ids not stored
    are left out)."""
    if ids is None:
        return list(session.scalars(select(VolunteerRow).order_by(VolunteerRow.id)))
    wanted = sorted(set(ids))
    rows: list[VolunteerRow] = []
    for k in range(0, len(wanted), IN_CHUNK):
        q = (
            select(VolunteerRow)
            .where(VolunteerRow.id.in_(wanted[k : k + IN_CHUNK]))
            .order_by(VolunteerRow.id)
        )
        rows += session.scalars(q)
    return rows


def ensure_host(session: Session, host_id: str) -> None:
    """Register `host_id` as a host partner (named after its id) unless it is known: a
    coordinator entering a new partner's need, or a key for a new partner, brings it."""
    if session.get(Host, host_id) is None:
        session.add(Host(id=host_id, name=host_id))
        session.flush()

"""The database queries that more than one part of the service needs (routers, and
API-key creation), in one module they import: routers never import each other.

Each takes the caller's session and returns table rows; what a caller may see is
decided by the router. `ensure_host` is the one write among them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.tables import (
    Base,
    Host,
    PlacementRow,
    Publication,
    PublishedAssignment,
    VolunteerRow,
    utcnow,
)

RowT = TypeVar("RowT", bound=Base)

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


def published_assignment_fields(
    session: Session, publication_id: int, host_id: str | None = None
) -> list[dict[str, Any]]:
    """`published_assignments` as plain fields named as in the API (volunteer,
    placement, host, start, months, score): a list answered as is needs no ORM objects,
    which cost most of the request (GET /assignments: about half its CPU)."""
    a = PublishedAssignment
    q = (
        select(
            a.volunteer_id.label("volunteer"),
            a.placement_id.label("placement"),
            a.host_id.label("host"),
            a.start,
            a.months,
            a.score,
        )
        .where(a.publication_id == publication_id)
        .order_by(a.volunteer_id)
    )
    if host_id is not None:
        q = q.where(a.host_id == host_id)
    return [dict(m) for m in session.execute(q).mappings()]


def host_assignments(session: Session, host_id: str) -> dict[str, PublishedAssignment]:
    """Volunteer id -> assignment, of the latest published result, at `host_id`."""
    pub = latest_publication(session)
    if pub is None:
        return {}
    return {a.volunteer_id: a for a in published_assignments(session, pub.id, host_id)}


def _rows_by_id(session: Session, model: type[RowT], ids: Iterable[str] | None) -> list[RowT]:
    """All rows of `model` by id, or those with these ids (ids not stored are left out),
    in chunks of IN_CHUNK ids."""
    key = model.id  # type: ignore[attr-defined]
    if ids is None:
        return list(session.scalars(select(model).order_by(key)))
    wanted = sorted(set(ids))
    rows: list[RowT] = []
    for k in range(0, len(wanted), IN_CHUNK):
        rows += session.scalars(
            select(model).where(key.in_(wanted[k : k + IN_CHUNK])).order_by(key)
        )
    return rows


def volunteer_rows(session: Session, ids: Iterable[str] | None = None) -> list[VolunteerRow]:
    """The stored volunteers by id: all of them, or those with these ids (ids not stored
    are left out)."""
    return _rows_by_id(session, VolunteerRow, ids)


def placement_rows(session: Session, ids: Iterable[str] | None = None) -> list[PlacementRow]:
    """The stored placements by id: all of them, or those with these ids."""
    return _rows_by_id(session, PlacementRow, ids)


def existing_volunteer_ids(session: Session, ids: Iterable[str]) -> set[str]:
    """Which of these volunteer ids are stored (ids only: no records are loaded)."""
    wanted = sorted(set(ids))
    found: set[str] = set()
    for k in range(0, len(wanted), IN_CHUNK):
        found.update(
            session.scalars(
                select(VolunteerRow.id).where(VolunteerRow.id.in_(wanted[k : k + IN_CHUNK]))
            )
        )
    return found


def _dialect(session: Session) -> str:
    bind = session.get_bind()
    return bind.dialect.name


def upsert(session: Session, table: Any, rows: list[dict[str, Any]], update: list[str]) -> None:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE the `update` columns (or DO NOTHING
    when empty), on SQLite and PostgreSQL: concurrent writers of the same new id both
    succeed instead of one failing on the unique key. Rows go in primary-key order (one
    lock order for every writer: no deadlocks) and in chunks under SQLite's limit on
    bound parameters."""
    if not rows:
        return
    from sqlalchemy.dialects import postgresql, sqlite

    dialect_insert: Any = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    keys = [c.name for c in table.primary_key.columns]
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in keys))
    step = min(IN_CHUNK, max(1, 30_000 // max(1, len(rows[0]))))
    for k in range(0, len(rows), step):
        stmt = dialect_insert(table).values(rows[k : k + step])
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=keys, set_={c: stmt.excluded[c] for c in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=keys)
        session.execute(stmt)


def add_new(session: Session, row: Base) -> bool:
    """Insert a new row; False (and nothing inserted) when its primary key was taken by
    a concurrent transaction that committed first. A savepoint keeps the rest of the
    request's transaction intact, so the caller can answer 409 instead of failing at
    commit time."""
    from sqlalchemy.exc import IntegrityError

    try:
        with session.begin_nested():  # added inside: a failed savepoint expunges it
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def lock_row(session: Session, model: type[RowT], key: Any) -> RowT | None:
    """The row with this primary key, locked for update until the transaction ends on
    PostgreSQL (SQLite's writers hold the whole database already)."""
    if _dialect(session) == "postgresql":
        return session.get(model, key, with_for_update=True, populate_existing=True)
    return session.get(model, key)


def ensure_host(session: Session, host_id: str) -> None:
    """Register `host_id` as a host partner (named after its id) unless it is known: a
    coordinator entering a new partner's need, or a key for a new partner, brings it.
    Two requests bringing the same new host at once both succeed."""
    if session.get(Host, host_id) is None:
        upsert(
            session, Host.__table__, [{"id": host_id, "name": host_id, "created_at": utcnow()}], []
        )

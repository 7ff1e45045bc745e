"""Reminders, queued once each in the outbox for a role (the coordinators, or one host):
reply deadlines approaching, offers expired, deployments ending in 3 and in 2 months.
`tick` expires overdue offers and queues what is due; the feed is the outbox read with
the caller's rights. Messages name volunteers by id only: no names, no birth dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from volmatch.api.service.lifecycle.replies import expire_overdue
from volmatch.api.service.queries import IN_CHUNK
from volmatch.api.service.tables import Offer, OutboxMessage, utcnow
from volmatch.models.lifecycle import OfferState

DEADLINE_NOTICE: Final = dt.timedelta(days=3)
"""How long before its deadline an unanswered offer is reminded: time for a phone call."""
ENDING_MONTHS: Final = (3, 2)
"""Deployments are reminded this many months before their planned end (as UN
Volunteers does): time to plan an extension or a successor."""


def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def planned_end(offer: Offer) -> dt.date:
    return _add_months(offer.start, offer.months)


@dataclass
class TickReport:
    expired: list[int] = field(default_factory=list)
    queued: int = 0


def _queue(
    rows: list[dict[str, object]],
    offer: Offer,
    kind: str,
    subject: str,
    body: str,
    due: dt.datetime,
    now: dt.datetime,
) -> None:
    for role, host in (("coordinator", None), ("host", offer.host_id)):
        rows.append(
            {
                "key": f"{kind}:{offer.id}:{role}",
                "kind": kind,
                "role": role,
                "host_id": host,
                "round_id": offer.round_id,
                "offer_id": offer.id,
                "subject": subject,
                "body": body,
                "due_at": due,
                "created_at": now,
                "sent_at": None,
                "attempts": 0,
                "error": None,
            }
        )


def tick(session: Session, now: dt.datetime | None = None) -> TickReport:
    """Expire overdue offers (proposing backfills) and queue every reminder now due;
    a reminder already queued is not queued again."""
    now = now or utcnow()
    report = TickReport(expired=[o.id for o in expire_overdue(session, now)])
    rows: list[dict[str, object]] = []
    for o in session.scalars(
        select(Offer).where(Offer.id.in_(report.expired))
        if report.expired
        else select(Offer).where(False)
    ):
        _queue(
            rows,
            o,
            "offer_expired",
            f"Offer {o.id} expired",
            f"{o.volunteer_id} did not answer the offer of {o.placement_id} by "
            f"{o.deadline.date().isoformat()}; a backfill proposal is waiting.",
            o.deadline,
            now,
        )
    soon = session.scalars(
        select(Offer).where(
            Offer.state == OfferState.OFFERED.value, Offer.deadline <= now + DEADLINE_NOTICE
        )
    )
    for o in soon:
        _queue(
            rows,
            o,
            "deadline_soon",
            f"Offer {o.id}: reply due {o.deadline.date().isoformat()}",
            f"{o.volunteer_id} has not yet answered the offer of {o.placement_id}; the "
            f"offer expires on {o.deadline.date().isoformat()}.",
            o.deadline,
            now,
        )
    running = session.scalars(
        select(Offer).where(Offer.state.in_([OfferState.DEPLOYED.value, OfferState.EXTENDED.value]))
    )
    today = now.date()
    for o in running:
        end = planned_end(o)
        for months in ENDING_MONTHS:
            if today >= _add_months(end, -months) and today < end:
                _queue(
                    rows,
                    o,
                    f"ending_{months}m",
                    f"Deployment ends {end.isoformat()}",
                    f"The deployment of {o.volunteer_id} at {o.placement_id} ends on "
                    f"{end.isoformat()} (in {months} months or less): plan the "
                    "extension or the successor.",
                    dt.datetime.combine(end, dt.time(), dt.UTC),
                    now,
                )
    report.queued = _insert_new(session, rows)
    return report


def _insert_new(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the reminders whose key is not queued yet (ON CONFLICT (key) DO NOTHING,
    so that two ticks at once queue each reminder once); how many were new."""
    from sqlalchemy.dialects import postgresql, sqlite

    if not rows:
        return 0
    pg = session.get_bind().dialect.name == "postgresql"
    insert = postgresql.insert if pg else sqlite.insert
    count = select(func.count()).select_from(OutboxMessage)
    before = session.scalar(count) or 0
    rows = sorted(rows, key=lambda r: str(r["key"]))
    for k in range(0, len(rows), IN_CHUNK // 20):
        stmt = insert(OutboxMessage).values(rows[k : k + IN_CHUNK // 20])
        session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
    return (session.scalar(count) or 0) - before


def feed(
    session: Session, role: str, host_id: str | None = None, *, limit: int = 200
) -> list[OutboxMessage]:
    """The reminders of a role, newest first (a host's own only)."""
    q = select(OutboxMessage).where(OutboxMessage.role == role)
    if role == "host":
        q = q.where(OutboxMessage.host_id == host_id)
    return list(session.scalars(q.order_by(OutboxMessage.id.desc()).limit(limit)))

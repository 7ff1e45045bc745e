"""Changes of an offer's state by the people involved, and by the clock: the volunteer's
reply (recorded by a coordinator or given through the personal link), the host's
decision, deployment states, expiry of overdue offers. A change that frees a slot
(decline, expiry) moves the round's version on and asks for a backfill proposal, which
is computed once the change has committed (`backfill.request_proposal`): the answer
names it, `pending`, with the URL where it appears."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.backfill import request_proposal
from volmatch.api.service.lifecycle.offers import bump, change_state, lifecycle_of, record
from volmatch.api.service.lifecycle.states import VACATING_STATES
from volmatch.api.service.queries import lock_row
from volmatch.api.service.tables import BackfillRow, Offer, utcnow
from volmatch.models.lifecycle import DeclineReason, OfferState

Answer = Literal["accept", "decline"]

DEPLOYMENT_STATES = frozenset(
    {
        OfferState.PRE_DEPARTURE,
        OfferState.DEPLOYED,
        OfferState.COMPLETED,
        OfferState.ENDED_EARLY,
        OfferState.EXTENDED,
        OfferState.DECLINED,
    }
)
"""The states a coordinator sets by hand after the reply (a visa fails: declined)."""


def apply_change(
    session: Session,
    offer: Offer,
    to: str,
    *,
    by: str,
    action: str,
    reason: str | None = None,
    text: str = "",
    now: dt.datetime | None = None,
) -> BackfillRow | None:
    """Change the offer's state; when that changes who stands where, move the round's
    version on, and when it frees a slot, ask for a backfill proposal (returned,
    pending: computed after the commit)."""
    now = now or utcnow()
    lc = lifecycle_of(session, offer.round_id, lock=True)
    if not change_state(
        session, offer, to, by=by, action=action, reason=reason, text=text, now=now
    ):
        return None
    bump(session, lc, now)
    if to not in VACATING_STATES:
        return None
    trigger = {
        "kind": to,
        "offer": offer.id,
        "volunteer": offer.volunteer_id,
        "placement": offer.placement_id,
    }
    return request_proposal(session, lc, trigger, by=by, now=now)


def reply(
    session: Session,
    offer: Offer,
    answer: Answer,
    *,
    by: str,
    reason: str | None = None,
    text: str = "",
    now: dt.datetime | None = None,
) -> BackfillRow | None:
    """The volunteer's answer to an offer still open: accepted, or declined with a
    reason from the fixed list. 409 once answered or expired."""
    now = now or utcnow()
    if offer.state != OfferState.OFFERED:
        raise ApiError(409, f"offer {offer.id} is {offer.state}: it can no longer be answered")
    if offer.deadline <= now:
        raise ApiError(409, f"offer {offer.id} expired at {offer.deadline.isoformat()}")
    if answer == "accept":
        return apply_change(
            session, offer, OfferState.ACCEPTED, by=by, action="reply", text=text, now=now
        )
    return apply_change(
        session,
        offer,
        OfferState.DECLINED,
        by=by,
        action="reply",
        reason=reason,
        text=text,
        now=now,
    )


def host_decision(
    session: Session,
    offer: Offer,
    decision: Answer,
    *,
    by: str,
    text: str = "",
    now: dt.datetime | None = None,
) -> BackfillRow | None:
    """The host accepts or declines a volunteer matched to it. Accepting is noted (an
    event that keeps the state); declining declines the offer (reason `host_declined`)
    while the volunteer has not left."""
    now = now or utcnow()
    if decision == "accept":
        if offer.state not in (OfferState.OFFERED, OfferState.ACCEPTED, OfferState.PRE_DEPARTURE):
            raise ApiError(409, f"offer {offer.id} is {offer.state}: too late to accept")
        offer.host_decision = "accepted"
        record(
            session,
            offer,
            frm=offer.state,
            to=offer.state,
            by=by,
            action="host",
            text=text or "the host accepts",
            now=now,
        )
        session.flush()
        return None
    offer.host_decision = "declined"
    return apply_change(
        session,
        offer,
        OfferState.DECLINED,
        by=by,
        action="host",
        reason=DeclineReason.HOST_DECLINED.value,
        text=text,
        now=now,
    )


def set_state(
    session: Session,
    offer: Offer,
    to: str,
    *,
    by: str,
    reason: str | None = None,
    text: str = "",
    now: dt.datetime | None = None,
) -> BackfillRow | None:
    """A coordinator records a deployment state (pre-departure, deployed, completed,
    ended early with a reason, extended) or a late decline (a visa fails)."""
    if to not in DEPLOYMENT_STATES:
        raise ApiError(
            422,
            f"offer {offer.id}: set {to!r} through a reply; this records "
            "one of " + ", ".join(sorted(DEPLOYMENT_STATES)),
        )
    return apply_change(
        session, offer, to, by=by, action="state", reason=reason, text=text, now=now
    )


def expire_overdue(session: Session, now: dt.datetime | None = None) -> list[Offer]:
    """Every offer still unanswered past its deadline becomes `expired` (by `system`);
    one backfill proposal is asked for (computed after the commit) per round that lost
    an offer. The expired offers."""
    now = now or utcnow()
    due = list(
        session.scalars(
            select(Offer)
            .where(Offer.state == OfferState.OFFERED.value, Offer.deadline <= now)
            .order_by(Offer.round_id, Offer.id)
        )
    )
    rounds: dict[str, list[Offer]] = {}
    expired: list[Offer] = []
    for found in due:
        # Locked and read again: another process's tick may have expired it meanwhile.
        offer = lock_row(session, Offer, found.id)
        if offer is None or offer.state != OfferState.OFFERED.value:
            continue
        expired.append(offer)
        change_state(
            session,
            offer,
            OfferState.EXPIRED,
            by="system",
            action="expire",
            reason=DeclineReason.NO_REPLY.value,
            now=now,
        )
        rounds.setdefault(offer.round_id, []).append(offer)
    for round_id, offers in rounds.items():
        lc = lifecycle_of(session, round_id, lock=True)
        bump(session, lc, now)
        request_proposal(
            session,
            lc,
            {
                "kind": "expired",
                "offers": [o.id for o in offers],
                "volunteers": [o.volunteer_id for o in offers],
            },
            by="system",
            now=now,
        )
    return expired

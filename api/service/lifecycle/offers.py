"""Offers and their history: making an offer, changing its state (one event per
change, never rewritten), reading them with the caller's rights, and the lifecycle row
of a round with its version."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.lifecycle.states import (
    STANDING_CHANGES,
    check_reason,
    next_state,
)
from volmatch.api.service.queries import lock_row
from volmatch.api.service.tables import Lifecycle, Offer, OfferEvent, utcnow
from volmatch.models.lifecycle import OfferState


def actor(who: Principal) -> str:
    """How an event names who made it: role and key id (a host by its id), never a
    person's name."""
    if who.role == "host":
        return f"host:{who.host_id}"
    return f"{who.role}:{who.key_id}"


def lifecycle_of(session: Session, round_id: str, *, lock: bool = False) -> Lifecycle:
    """The lifecycle of a published round (locked for update when `lock`); 404 when
    the round has none (not published, or published before offers existed)."""
    lc = lock_row(session, Lifecycle, round_id) if lock else session.get(Lifecycle, round_id)
    if lc is None:
        raise not_found("published round with offers", round_id)
    return lc


def bump(session: Session, lc: Lifecycle, now: dt.datetime | None = None) -> int:
    """Move the round's version on (who stands where changed); the new version."""
    lc.version += 1
    lc.updated_at = now or utcnow()
    session.flush()
    return lc.version


def claim_version(session: Session, round_id: str, version: int) -> bool:
    """Raise the round's version from `version` to the next, only if it is still
    `version` (compare-and-set): False when another change came first."""
    res = session.execute(
        update(Lifecycle)
        .where(Lifecycle.round_id == round_id, Lifecycle.version == version)
        .values(version=version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return bool(getattr(res, "rowcount", 0) == 1)


def record(
    session: Session,
    offer: Offer,
    *,
    frm: str | None,
    to: str,
    by: str,
    action: str,
    reason: str | None = None,
    text: str = "",
    now: dt.datetime | None = None,
) -> OfferEvent:
    """Append one event to the offer's history."""
    ev = OfferEvent(
        offer_id=offer.id,
        round_id=offer.round_id,
        wave=offer.wave,
        volunteer_id=offer.volunteer_id,
        placement_id=offer.placement_id,
        at=now or utcnow(),
        by=by,
        action=action,
        from_state=frm,
        to_state=to,
        reason=reason,
        text=text,
    )
    session.add(ev)
    return ev


def make_offer(
    session: Session,
    *,
    round_id: str,
    wave: int,
    volunteer: str,
    placement: str,
    host: str,
    score: int,
    start: dt.date,
    months: int,
    deadline: dt.datetime,
    by: str,
    action: str,
    text: str = "",
    now: dt.datetime | None = None,
) -> Offer:
    """A new offer in state `offered`, with its first event."""
    now = now or utcnow()
    offer = Offer(
        round_id=round_id,
        wave=wave,
        volunteer_id=volunteer,
        placement_id=placement,
        host_id=host,
        state=OfferState.OFFERED.value,
        score=score,
        start=start,
        months=months,
        deadline=deadline,
        created_at=now,
        updated_at=now,
    )
    session.add(offer)
    session.flush()
    record(session, offer, frm=None, to=offer.state, by=by, action=action, text=text, now=now)
    return offer


def change_state(
    session: Session,
    offer: Offer,
    to: str,
    *,
    by: str,
    action: str,
    reason: str | None = None,
    text: str = "",
    now: dt.datetime | None = None,
) -> bool:
    """Move `offer` to `to` (409 when the transitions do not allow it, 422 for a
    missing or wrong reason), with its event; True when who stands where changed (the
    caller then moves the round's version on)."""
    frm = offer.state
    to = next_state(frm, to, offer.id)
    reason = check_reason(to, reason, offer.id)
    now = now or utcnow()
    offer.state, offer.updated_at = to, now
    record(session, offer, frm=frm, to=to, by=by, action=action, reason=reason, text=text, now=now)
    session.flush()
    return to in STANDING_CHANGES


def visible_offer(session: Session, offer_id: int, who: Principal, *, lock: bool = False) -> Offer:
    """The offer as `who` may see it: a host only its own placements' (404 otherwise,
    as for an offer that does not exist); planners none."""
    offer = lock_row(session, Offer, offer_id) if lock else session.get(Offer, offer_id)
    if offer is None or (who.role == "host" and offer.host_id != who.host_id):
        raise not_found("offer", str(offer_id))
    if who.role == "planner":
        raise ApiError(403, "a planner key may not read or change offers")
    return offer


def list_offers(
    session: Session,
    who: Principal,
    *,
    round_id: str | None = None,
    state: str | None = None,
    volunteer: str | None = None,
) -> list[Offer]:
    """Offers by id, filtered; a host key gets its own placements' only."""
    if who.role == "planner":
        raise ApiError(403, "a planner key may not read offers")
    q = select(Offer).order_by(Offer.id)
    if who.role == "host":
        q = q.where(Offer.host_id == who.host_id)
    if round_id is not None:
        q = q.where(Offer.round_id == round_id)
    if state is not None:
        q = q.where(Offer.state == state)
    if volunteer is not None:
        q = q.where(Offer.volunteer_id == volunteer)
    return list(session.scalars(q))


def history(session: Session, offer_id: int) -> list[OfferEvent]:
    """The offer's events, oldest first."""
    return list(
        session.scalars(
            select(OfferEvent).where(OfferEvent.offer_id == offer_id).order_by(OfferEvent.id)
        )
    )


def latest_offers(session: Session, round_id: str) -> dict[str, Offer]:
    """Volunteer id -> their newest offer in the round."""
    out: dict[str, Offer] = {}
    for o in session.scalars(select(Offer).where(Offer.round_id == round_id).order_by(Offer.id)):
        out[o.volunteer_id] = o
    return out


def offer_public(offer: Offer) -> dict[str, Any]:
    """An offer as the API shows it."""
    return {
        "id": offer.id,
        "round_id": offer.round_id,
        "wave": offer.wave,
        "volunteer": offer.volunteer_id,
        "placement": offer.placement_id,
        "host": offer.host_id,
        "state": offer.state,
        "score": offer.score,
        "start": offer.start,
        "months": offer.months,
        "deadline": offer.deadline,
        "host_decision": offer.host_decision,
        "created_at": offer.created_at,
        "updated_at": offer.updated_at,
    }


def event_public(ev: OfferEvent) -> dict[str, Any]:
    """An event as the API shows it (the contract's `Event` fields, plus its ids)."""
    return {
        "id": ev.id,
        "offer_id": ev.offer_id,
        "round": ev.round_id,
        "wave": ev.wave,
        "volunteer": ev.volunteer_id,
        "placement": ev.placement_id,
        "at": ev.at,
        "by": ev.by,
        "action": ev.action,
        "from": ev.from_state,
        "to": ev.to_state,
        "reason": ev.reason,
        "text": ev.text,
    }

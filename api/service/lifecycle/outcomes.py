"""Outcomes: how each deployment ended (completed, or ended early with a reason), both
sides' ratings and a short report. Recording one ends a running deployment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.offers import change_state, lifecycle_of
from volmatch.api.service.tables import Offer, OutcomeRow, utcnow
from volmatch.models.lifecycle import OfferState, Outcome

RUNNING = frozenset({OfferState.DEPLOYED, OfferState.EXTENDED})
ENDED = frozenset({OfferState.COMPLETED, OfferState.ENDED_EARLY})


def record_outcome(
    session: Session,
    offer: Offer,
    body: dict[str, Any],
    *,
    by: str,
    now: dt.datetime | None = None,
) -> OutcomeRow:
    """Store the outcome of `offer`'s deployment (`body`: the `Outcome` fields without
    the ids). A running deployment becomes completed or ended early; one that ended
    already must agree. 409 when an outcome is recorded already or the volunteer was
    never deployed."""
    now = now or utcnow()
    if session.get(OutcomeRow, offer.id) is not None:
        raise ApiError(409, f"offer {offer.id} has its outcome already")
    if offer.state not in RUNNING | ENDED:
        raise ApiError(409, f"offer {offer.id} is {offer.state}: only a deployment has an outcome")
    lc = lifecycle_of(session, offer.round_id)
    country = next(
        (
            p.get("country")
            for p in lc.document.get("placements", [])
            if p["id"] == offer.placement_id
        ),
        None,
    )
    outcome = Outcome.model_validate(
        {
            **body,
            "volunteer": offer.volunteer_id,
            "placement": offer.placement_id,
            "host": offer.host_id,
            "country": country,
            "round": offer.round_id,
        }
    )
    to = OfferState.COMPLETED if outcome.completed else OfferState.ENDED_EARLY
    reason = None if outcome.ended_early_reason is None else outcome.ended_early_reason.value
    if offer.state in RUNNING:
        change_state(
            session,
            offer,
            to,
            by=by,
            action="outcome",
            reason=reason,
            text=outcome.report[:2000],
            now=now,
        )
    elif offer.state != to:
        raise ApiError(409, f"offer {offer.id} is {offer.state}; the outcome says {to.value}")
    row = OutcomeRow(
        offer_id=offer.id,
        round_id=offer.round_id,
        volunteer_id=offer.volunteer_id,
        placement_id=offer.placement_id,
        host_id=offer.host_id,
        country=country,
        completed=outcome.completed,
        ended_early_reason=reason,
        host_rating=outcome.host_rating,
        volunteer_rating=outcome.volunteer_rating,
        report=outcome.report,
        ended_on=outcome.ended_on,
        recorded_by=by,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_outcomes(
    session: Session, *, round_id: str | None = None, host_id: str | None = None
) -> list[OutcomeRow]:
    q = select(OutcomeRow).order_by(OutcomeRow.offer_id)
    if round_id is not None:
        q = q.where(OutcomeRow.round_id == round_id)
    if host_id is not None:
        q = q.where(OutcomeRow.host_id == host_id)
    return list(session.scalars(q))


def outcome_model(row: OutcomeRow) -> Outcome:
    """A stored outcome as the engine's `Outcome` (feeds the next round and the report)."""
    return Outcome(
        volunteer=row.volunteer_id,
        placement=row.placement_id,
        host=row.host_id,
        country=row.country,
        completed=row.completed,
        ended_early_reason=row.ended_early_reason,  # type: ignore[arg-type]
        host_rating=row.host_rating,
        volunteer_rating=row.volunteer_rating,
        report=row.report,
        ended_on=row.ended_on,
        round=row.round_id,
    )


def stored_outcomes(session: Session) -> list[Outcome]:
    """Every recorded deployment outcome, as the engine's `Outcome`s (they feed the next
    round: `rounds_service.with_stored_outcomes`, the worker's KPIs)."""
    return [outcome_model(o) for o in list_outcomes(session)]


def outcome_public(row: OutcomeRow) -> dict[str, Any]:
    return {
        "offer_id": row.offer_id,
        **outcome_model(row).model_dump(mode="json"),
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at,
    }

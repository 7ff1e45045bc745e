"""Publishing starts a round's lifecycle: an offer per assignment with a reply deadline
(`policy.offer_days`), wave 1, and the reserve lists."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle import engine
from volmatch.api.service.lifecycle.offers import make_offer
from volmatch.api.service.tables import Lifecycle, Offer, Wave, utcnow
from volmatch.models import Policy


def offer_days(document: dict[str, Any]) -> int:
    """Days a volunteer has to answer, from the round's policy (default 14)."""
    return int(Policy.model_validate(document.get("policy", {})).offer_days)


def start_lifecycle(
    session: Session,
    round_id: str,
    document: dict[str, Any],
    result: dict[str, Any],
    *,
    by: str,
    now: dt.datetime | None = None,
) -> Lifecycle:
    """Offers for every assignment of a published result, each answerable until
    `offer_days` from `now`; 409 when the round has its lifecycle already."""
    if session.get(Lifecycle, round_id) is not None:
        raise ApiError(409, f"round {round_id!r} has its offers already")
    now = now or utcnow()
    days = offer_days(document)
    prep = engine.prepared(document)
    pairs = [(a["volunteer"], a["placement"]) for a in result["assignments"]]
    lc = Lifecycle(
        round_id=round_id,
        version=1,
        wave=1,
        offer_days=days,
        document=document,
        withdrawn=[],
        reserves=engine.reserves(prep, pairs),
        published_at=now,
        updated_at=now,
    )
    session.add(lc)
    session.add(
        Wave(round_id=round_id, number=1, volunteers=[], placements=[], opened_by=by, opened_at=now)
    )
    hosts = {p["id"]: p["host"] for p in document.get("placements", [])}
    deadline = now + dt.timedelta(days=days)
    for a in result["assignments"]:
        make_offer(
            session,
            round_id=round_id,
            wave=1,
            volunteer=a["volunteer"],
            placement=a["placement"],
            host=hosts[a["placement"]],
            score=int(a["score"]),
            start=dt.date.fromisoformat(a["start"]),
            months=int(a["months"]),
            deadline=deadline,
            by=by,
            action="publish",
            now=now,
        )
    session.flush()
    return lc


def has_offers(session: Session, round_id: str) -> bool:
    return session.scalar(select(Offer.id).where(Offer.round_id == round_id).limit(1)) is not None

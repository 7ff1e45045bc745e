"""Publishing starts a round's lifecycle: an offer per assignment with a reply deadline
(`policy.offer_days`), wave 1, and the reserve lists.

The reserve lists need the round prepared (its eligible pairs found and scored: 0.6 s
at 10,000 volunteers, about 5 s at 100,000): `ready_reserves` computes them in the
endpoint's read session before its write session takes its first lock, so that the
write does not hold the database (SQLite's one writer) that long. An erasure between
the two (the one thing that rewrites a stored round or result) makes the write compute
them again."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle import engine
from volmatch.api.service.lifecycle.offers import make_offer
from volmatch.api.service.result_pages import erasures_mark
from volmatch.api.service.tables import Lifecycle, Offer, ResultRow, RoundRow, Wave, utcnow
from volmatch.models import Policy


def offer_days(document: dict[str, Any]) -> int:
    """Days a volunteer has to answer, from the round's policy (default 14)."""
    return int(Policy.model_validate(document.get("policy", {})).offer_days)


@dataclass(frozen=True)
class ReadyReserves:
    """A round's reserve lists, computed outside any write, and the erasures mark of the
    read they were computed from."""

    round_id: str
    mark: tuple[int, str]
    reserves: list[dict[str, Any]]


def _reserves(document: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    pairs = [(a["volunteer"], a["placement"]) for a in result["assignments"]]
    return engine.reserves(engine.prepared(document), pairs)


def ready_reserves(session: Session, round_id: str, who: Principal) -> ReadyReserves | None:
    """The reserve lists of a round's stored result, computed from `session`, a read
    session (the endpoint's, so that its write session takes no lock meanwhile: see
    `routing._session_for_key`); None when it has no result yet or `who` may not publish
    (the publication then says why: nobody else makes the service prepare a round)."""
    if who.role != "coordinator":
        return None
    r = session.get(RoundRow, round_id)
    res = session.get(ResultRow, round_id)
    if r is None or res is None:
        return None
    return ReadyReserves(round_id, erasures_mark(session), _reserves(r.document, res.result))


def start_lifecycle(
    session: Session,
    round_id: str,
    document: dict[str, Any],
    result: dict[str, Any],
    *,
    by: str,
    ready: ReadyReserves | None = None,
    now: dt.datetime | None = None,
) -> Lifecycle:
    """Offers for every assignment of a published result, each answerable until
    `offer_days` from `now`; 409 when the round has its lifecycle already. The reserve
    lists are `ready`'s when nothing was erased since they were computed."""
    if session.get(Lifecycle, round_id) is not None:
        raise ApiError(409, f"round {round_id!r} has its offers already")
    now = now or utcnow()
    days = offer_days(document)
    if ready is not None and ready.round_id == round_id and ready.mark == erasures_mark(session):
        reserves = ready.reserves
    else:  # not computed beforehand, or an erasure rewrote the round since
        reserves = _reserves(document, result)
    lc = Lifecycle(
        round_id=round_id,
        version=1,
        wave=1,
        offer_days=days,
        document=document,
        withdrawn=[],
        reserves=reserves,
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

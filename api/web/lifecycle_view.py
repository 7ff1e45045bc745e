"""What the Advice page shows of a published round's lifecycle (issue 18): the offers at
one need with their state and deadline, the replies and other answers given to them,
and the round's current backfill proposal (or the one being computed, or why the last
one failed). Read through the lifecycle service
(`volmatch.api.service.lifecycle`), the functions the API uses: nothing here decides
anything."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.errors import ApiError
from volmatch.api.service.lifecycle.backfill import FAILED, PENDING, list_backfills
from volmatch.api.service.lifecycle.offers import history, lifecycle_of, list_offers
from volmatch.api.service.tables import Offer, OfferEvent
from volmatch.models.lifecycle import DeclineReason

ANSWER_ACTIONS = frozenset({"reply", "host", "expire", "withdraw", "backfill"})
"""Events listed as answers at a need: what the volunteer, the host or the clock said,
and what a backfill or a withdrawal did to an offer (its first event, the offer itself,
is in the offers table already)."""
RECENT_PROPOSALS = 5
"""Earlier proposals (confirmed or superseded) listed under the current one."""


@dataclass(frozen=True)
class OfferRow:
    offer: Offer
    answerable: bool
    """Still `offered` and before its deadline: the coordinator may record a reply."""


@dataclass(frozen=True)
class LifecycleSection:
    """The lifecycle part of the Advice page of need `placement`."""

    round_id: str
    placement: str
    published: bool
    """The round has offers (published with the lifecycle service)."""
    version: int = 0
    wave: int = 1
    withdrawn: bool = False
    offers: list[OfferRow] = field(default_factory=list)
    answers: list[OfferEvent] = field(default_factory=list)
    proposal: Any = None
    """The open BackfillRow of the round, if any."""
    pending: Any = None
    """The round's proposal being computed (asked for, not there yet), if any."""
    failed: Any = None
    """The round's newest proposal when the engine refused it, with its reason."""
    earlier: list[Any] = field(default_factory=list)
    reserves: list[dict[str, Any]] = field(default_factory=list)

    @property
    def proposal_here(self) -> bool:
        """Whether the open proposal touches this need (offers or moves)."""
        if self.proposal is None:
            return False
        p = self.proposal.proposal
        return any(n["placement"] == self.placement for n in p["new_offers"]) or any(
            self.placement in (m["from"], m["to"]) for m in p["moves"]
        )


def decline_reasons() -> list[str]:
    """The reasons a coordinator may record for a volunteer's decline (`no_reply` is the
    clock's and `host_declined` the host's: not the volunteer's answers)."""
    return [
        r.value
        for r in DeclineReason
        if r not in (DeclineReason.NO_REPLY, DeclineReason.HOST_DECLINED)
    ]


def lifecycle_section(
    session: Session, round_id: str, placement: str, who: Principal, now: dt.datetime | None = None
) -> LifecycleSection:
    """The offers at `placement`, their answers, and the round's current proposal."""
    try:
        lc = lifecycle_of(session, round_id)
    except ApiError:
        return LifecycleSection(round_id, placement, published=False)
    now = now or dt.datetime.now(dt.UTC)
    offers = [
        o for o in list_offers(session, who, round_id=round_id) if o.placement_id == placement
    ]
    offers.sort(key=lambda o: o.id, reverse=True)
    answers = [e for o in offers for e in history(session, o.id) if e.action in ANSWER_ACTIONS]
    answers.sort(key=lambda e: e.id, reverse=True)
    proposals = list_backfills(session, round_id)
    current = next((b for b in reversed(proposals) if b.status == "open"), None)
    newest = proposals[-1] if proposals else None
    # a proposal still pending, or superseded before it was computed, has nothing to show
    earlier = [
        b
        for b in reversed(proposals)
        if b is not current and b.status in ("confirmed", "superseded") and b.proposal
    ][:RECENT_PROPOSALS]
    reserves = next(
        (r.get("reserves", []) for r in lc.reserves if r.get("placement") == placement), []
    )
    return LifecycleSection(
        round_id=round_id,
        placement=placement,
        published=True,
        version=lc.version,
        wave=lc.wave,
        withdrawn=placement in lc.withdrawn,
        offers=[OfferRow(o, o.state == "offered" and o.deadline > now) for o in offers],
        answers=answers,
        proposal=current,
        pending=newest if newest is not None and newest.status == PENDING else None,
        failed=newest if newest is not None and newest.status == FAILED else None,
        earlier=earlier,
        reserves=list(reserves),
    )

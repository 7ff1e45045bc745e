"""Offers of published rounds: list and read them with their history (a host key its own
placements' only; any other offer is a 404 to it), record the volunteer's reply and the
deployment states (coordinators), the host's decision (the host, or a coordinator for
it), outcomes, and issue the volunteer's personal link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    ReadSession,
    WriteSession,
)
from volmatch.api.service.errors import forbidden
from volmatch.api.service.lifecycle import links, outcomes, replies
from volmatch.api.service.lifecycle.backfill import backfill_public
from volmatch.api.service.lifecycle.offers import (
    actor,
    event_public,
    history,
    list_offers,
    offer_public,
    visible_offer,
)
from volmatch.api.service.lifecycle.schemas import (
    ChangeOut,
    HostDecisionIn,
    LinkIssued,
    OfferDetail,
    OfferPublic,
    OutcomeIn,
    OutcomePublic,
    ReplyIn,
    StateIn,
    StateName,
)
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.schemas import ID_PATTERN, ROUND_ID_PATTERN
from volmatch.api.service.tables import BackfillRow, Offer

router = APIRouter(tags=["offers"], route_class=CommitRoute)

OfferPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Offer id.")]


def _coordinator(who: Principal) -> None:
    """After the visibility check (another host's offer is a 404 first)."""
    if who.role != "coordinator":
        raise forbidden("do this (coordinators only)")


def _changed(offer: Offer, proposal: BackfillRow | None) -> ChangeOut:
    return ChangeOut(
        offer=OfferPublic(**offer_public(offer)),
        backfill=None if proposal is None else backfill_public(proposal),  # type: ignore[arg-type]
    )


@router.get(
    "/offers",
    response_model=list[OfferPublic],
    summary="Offers, oldest first (a host key: its own placements')",
)
def get_offers(
    session: ReadSession,
    who: Anyone,
    round_id: Annotated[str | None, Query(alias="round", pattern=ROUND_ID_PATTERN)] = None,
    state: StateName | None = None,
    volunteer: Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)] = None,
) -> list[OfferPublic]:
    return [
        OfferPublic(**offer_public(o))
        for o in list_offers(session, who, round_id=round_id, state=state, volunteer=volunteer)
    ]


@router.get(
    "/offers/{offer_id:int}", response_model=OfferDetail, summary="One offer and its whole history"
)
def get_offer(offer_id: OfferPath, session: ReadSession, who: Anyone) -> OfferDetail:
    offer = visible_offer(session, offer_id, who)
    return OfferDetail(
        offer=OfferPublic(**offer_public(offer)),
        events=[event_public(e) for e in history(session, offer.id)],
    )  # type: ignore[misc]


@router.post(
    "/offers/{offer_id:int}/reply",
    response_model=ChangeOut,
    summary="Record the volunteer's answer (a decline proposes a backfill)",
    dependencies=IDEMPOTENT,
)
def post_reply(offer_id: OfferPath, body: ReplyIn, session: WriteSession, who: Anyone) -> ChangeOut:
    offer = visible_offer(session, offer_id, who, lock=True)
    _coordinator(who)
    proposal = replies.reply(
        session,
        offer,
        body.answer,
        by=actor(who),
        reason=None if body.reason is None else body.reason.value,
        text=body.text,
    )
    return _changed(offer, proposal)


@router.post(
    "/offers/{offer_id:int}/host",
    response_model=ChangeOut,
    summary="The host accepts or declines its matched volunteer",
    dependencies=IDEMPOTENT,
)
def post_host_decision(
    offer_id: OfferPath, body: HostDecisionIn, session: WriteSession, who: Anyone
) -> ChangeOut:
    offer = visible_offer(session, offer_id, who, lock=True)
    if who.role not in ("host", "coordinator"):
        raise forbidden("decide for a host")
    proposal = replies.host_decision(session, offer, body.decision, by=actor(who), text=body.text)
    return _changed(offer, proposal)


@router.post(
    "/offers/{offer_id:int}/state",
    response_model=ChangeOut,
    summary="Record a deployment state (pre-departure, deployed, completed, "
    "ended early, extended) or a late decline",
    dependencies=IDEMPOTENT,
)
def post_state(offer_id: OfferPath, body: StateIn, session: WriteSession, who: Anyone) -> ChangeOut:
    offer = visible_offer(session, offer_id, who, lock=True)
    _coordinator(who)
    proposal = replies.set_state(
        session, offer, body.to, by=actor(who), reason=body.reason, text=body.text
    )
    return _changed(offer, proposal)


@router.post(
    "/offers/{offer_id:int}/outcome",
    response_model=OutcomePublic,
    status_code=201,
    summary="Record how the deployment ended",
    dependencies=IDEMPOTENT,
)
def post_outcome(
    offer_id: OfferPath, body: OutcomeIn, session: WriteSession, who: Anyone, response: Response
) -> OutcomePublic:
    offer = visible_offer(session, offer_id, who, lock=True)
    _coordinator(who)
    row = outcomes.record_outcome(session, offer, body.model_dump(mode="json"), by=actor(who))
    response.headers["Location"] = f"/offers/{offer_id}"
    return OutcomePublic(**outcomes.outcome_public(row))


@router.post(
    "/offers/{offer_id:int}/link",
    response_model=LinkIssued,
    status_code=201,
    summary="A personal link for the volunteer to answer (shown once; earlier "
    "links of the offer stop working)",
    dependencies=IDEMPOTENT,
)
def post_link(offer_id: OfferPath, session: WriteSession, who: Anyone) -> LinkIssued:
    offer = visible_offer(session, offer_id, who, lock=True)
    _coordinator(who)
    issued = links.issue(session, offer)
    return LinkIssued(
        offer_id=offer.id,
        token=issued.token,
        url=f"/offers/{issued.token}",
        expires_at=issued.expires_at,
    )

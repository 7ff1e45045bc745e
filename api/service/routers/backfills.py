"""The life of a published round: its lifecycle (version, wave, reserve lists), backfill
proposals and their confirmation (409 when the round changed since: refresh), new
waves, needs withdrawn by their hosts, and starting the offers of a round published
before offers existed."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from volmatch.api.service.auth import Principal
from volmatch.api.service.deps import (
    IDEMPOTENT,
    Anyone,
    PlacementPath,
    ReadSession,
    RoundPath,
    WriteSession,
)
from volmatch.api.service.errors import ApiError, not_found
from volmatch.api.service.lifecycle import backfill
from volmatch.api.service.lifecycle.offers import actor, latest_offers, lifecycle_of
from volmatch.api.service.lifecycle.publish import ready_reserves, start_lifecycle
from volmatch.api.service.lifecycle.schemas import (
    BackfillPublic,
    LifecyclePublic,
    WaveIn,
    WaveOpened,
    WavePublic,
    WithdrawIn,
)
from volmatch.api.service.routing import CommitRoute
from volmatch.api.service.tables import Lifecycle, Publication, ResultRow, RoundRow, Wave

router = APIRouter(tags=["lifecycle"], route_class=CommitRoute)


def _coordinator_round(who: Principal, round_id: str) -> None:
    """Hosts see no rounds (404, as for any round id); planners may not (403)."""
    if who.role == "host":
        raise not_found("round", round_id)
    if who.role != "coordinator":
        raise ApiError(403, f"a {who.role} key may not do this (needs coordinator)")


BackfillPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="Backfill proposal id.")]


def _lifecycle_public(session: Session, lc: Lifecycle) -> LifecyclePublic:
    """The round's lifecycle as the API shows it, with its offers counted by state."""
    states = Counter(o.state for o in latest_offers(session, lc.round_id).values())
    return LifecyclePublic(
        round_id=lc.round_id,
        version=lc.version,
        wave=lc.wave,
        offer_days=lc.offer_days,
        withdrawn=list(lc.withdrawn),
        reserves=list(lc.reserves),
        states=dict(states),
        published_at=lc.published_at,
        updated_at=lc.updated_at,
    )


@router.get(
    "/rounds/{round_id}/lifecycle",
    response_model=LifecyclePublic,
    summary="A published round's version, wave, withdrawn needs, reserve lists and offers by state",
)
def get_lifecycle(round_id: RoundPath, session: ReadSession, who: Anyone) -> LifecyclePublic:
    _coordinator_round(who, round_id)
    lc = lifecycle_of(session, round_id)
    return _lifecycle_public(session, lc)


@router.post(
    "/rounds/{round_id}/offers",
    response_model=LifecyclePublic,
    status_code=201,
    summary="Make the offers of a round published before offers existed",
    dependencies=IDEMPOTENT,
)
def post_offers(
    round_id: RoundPath, read: ReadSession, session: WriteSession, who: Anyone, response: Response
) -> LifecyclePublic:
    _coordinator_round(who, round_id)
    ready = ready_reserves(read, round_id, who)  # before the write locks: it prepares the round
    r = session.get(RoundRow, round_id)
    published = session.scalar(select(Publication.id).where(Publication.round_id == round_id))
    res = session.get(ResultRow, round_id)
    if r is None or published is None or res is None:
        raise not_found("published round", round_id)
    lc = start_lifecycle(session, round_id, r.document, res.result, by=actor(who), ready=ready)
    response.headers["Location"] = f"/rounds/{round_id}/lifecycle"
    return _lifecycle_public(session, lc)


@router.get(
    "/rounds/{round_id}/backfills",
    response_model=list[BackfillPublic],
    summary="Backfill proposals of a round, oldest first (the open one is current)",
)
def get_backfills(round_id: RoundPath, session: ReadSession, who: Anyone) -> list[BackfillPublic]:
    _coordinator_round(who, round_id)
    return [
        BackfillPublic(**backfill.backfill_public(b))
        for b in backfill.list_backfills(session, round_id)
    ]


@router.post(
    "/rounds/{round_id}/backfills",
    response_model=BackfillPublic,
    status_code=202,
    summary="Ask for a backfill proposal from the round as it stands: answered at once, "
    "`pending`; read it at `url` (the Location) until it is `open` or `failed`",
    dependencies=IDEMPOTENT,
)
def post_backfill(
    round_id: RoundPath, session: WriteSession, who: Anyone, response: Response
) -> BackfillPublic:
    _coordinator_round(who, round_id)
    lc = lifecycle_of(session, round_id, lock=True)
    row = backfill.request_proposal(session, lc, {"kind": "asked"}, by=actor(who))
    response.headers["Location"] = backfill.backfill_url(row)
    return BackfillPublic(**backfill.backfill_public(row))


@router.get(
    "/rounds/{round_id}/backfills/{backfill_id}",
    response_model=BackfillPublic,
    summary="One backfill proposal: who gets an offer, who moves and why, the "
    "change in total score",
)
def get_backfill(
    round_id: RoundPath, backfill_id: BackfillPath, session: ReadSession, who: Anyone
) -> BackfillPublic:
    _coordinator_round(who, round_id)
    return BackfillPublic(
        **backfill.backfill_public(backfill.visible_backfill(session, round_id, backfill_id))
    )


@router.post(
    "/rounds/{round_id}/backfills/{backfill_id}/confirm",
    response_model=BackfillPublic,
    summary="Confirm a proposal: its offers are made (409: the round changed since, refresh)",
    dependencies=IDEMPOTENT,
)
def post_confirm(
    round_id: RoundPath, backfill_id: BackfillPath, session: WriteSession, who: Anyone
) -> BackfillPublic:
    _coordinator_round(who, round_id)
    row = backfill.confirm(session, round_id, backfill_id, by=actor(who))
    return BackfillPublic(**backfill.backfill_public(row))


@router.get(
    "/rounds/{round_id}/waves", response_model=list[WavePublic], summary="The waves of a round"
)
def get_waves(round_id: RoundPath, session: ReadSession, who: Anyone) -> list[WavePublic]:
    _coordinator_round(who, round_id)
    lifecycle_of(session, round_id)
    rows = session.scalars(select(Wave).where(Wave.round_id == round_id).order_by(Wave.number))
    return [WavePublic.model_validate(w, from_attributes=True) for w in rows]


@router.post(
    "/rounds/{round_id}/waves",
    response_model=WaveOpened,
    status_code=201,
    summary="Open a new wave with late volunteers and needs (stored records); "
    "earlier acceptances stay; its backfill proposal is `pending` (read it at its `url`)",
    dependencies=IDEMPOTENT,
)
def post_wave(
    round_id: RoundPath,
    body: WaveIn,
    read: ReadSession,
    session: WriteSession,
    who: Anyone,
    response: Response,
) -> WaveOpened:
    _coordinator_round(who, round_id)
    vols, pls = list(body.volunteers), list(body.placements)
    ready = backfill.wave_document(read, round_id, vols, pls)  # before the write locks
    wave, row = backfill.open_wave(session, round_id, vols, pls, by=actor(who), ready=ready)
    response.headers["Location"] = backfill.backfill_url(row)
    return WaveOpened(
        wave=WavePublic.model_validate(wave, from_attributes=True),
        backfill=BackfillPublic(**backfill.backfill_public(row)),
    )


@router.post(
    "/rounds/{round_id}/placements/{placement_id}/withdraw",
    response_model=BackfillPublic,
    status_code=201,
    summary="The host withdraws a need of a published round; the backfill proposal it "
    "asks for is answered `pending` (read it at `url`, the Location)",
    dependencies=IDEMPOTENT,
)
def post_withdraw(
    round_id: RoundPath,
    placement_id: PlacementPath,
    body: WithdrawIn,
    session: WriteSession,
    who: Anyone,
    response: Response,
) -> BackfillPublic:
    lc = lifecycle_of(session, round_id)
    hosts = {p["id"]: p["host"] for p in lc.document.get("placements", [])}
    if who.role == "planner":
        raise ApiError(403, "a planner key may not withdraw needs")
    if placement_id not in hosts or (who.role == "host" and hosts[placement_id] != who.host_id):
        raise not_found(f"placement in round {round_id}", placement_id)
    row = backfill.withdraw_need(session, round_id, placement_id, by=actor(who), text=body.text)
    response.headers["Location"] = backfill.backfill_url(row)
    return BackfillPublic(**backfill.backfill_public(row))

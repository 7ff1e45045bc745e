"""After the match: offers, their states and allowed transitions, decline and early-end
reasons, deployment outcomes and the append-only history of events (issue 18).

A published assignment becomes an *offer*. Its life is one table of allowed transitions
(`TRANSITIONS`) and one check (`check_transition`), so that the engine, the service and
the files of coordinators who work offline all agree on what may follow what:

    offered -> accepted | declined | expired | withdrawn
    accepted -> pre_departure | declined | withdrawn   (a visa fails, the volunteer withdraws)
    pre_departure -> deployed | declined | withdrawn
    deployed -> completed | ended_early | extended
    extended -> completed | ended_early

`withdrawn` closes an offer from the programme's side: a confirmed backfill moved its
volunteer (a new offer follows) or the host withdrew the need. `declined`, `expired`,
`withdrawn`, `completed` and `ended_early` are final. Every change is an
`Event` (who, when, from, to, reason); the history is a list of them, never rewritten.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from volmatch.models import limits
from volmatch.models.errors import ErrorItem, VolmatchError
from volmatch.models.reasons import Reason
from volmatch.models.round import ContinuityBonus, PlacementId, VolunteerId

__all__ = [
    "FINAL_STATES",
    "FROZEN_STATES",
    "OPEN_STATES",
    "TRANSITIONS",
    "VACATING_STATES",
    "WITHDRAWABLE_STATES",
    "BackfillMove",
    "BackfillProposal",
    "ContinuityBonus",
    "DeclineReason",
    "EarlyEndReason",
    "Event",
    "InvalidBackfill",
    "InvalidHistory",
    "NewOffer",
    "OfferState",
    "Outcome",
    "Programme",
    "TransitionError",
    "check_transition",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class OfferState(StrEnum):
    """Where an offer (one volunteer at one placement) stands."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    PRE_DEPARTURE = "pre_departure"
    DEPLOYED = "deployed"
    COMPLETED = "completed"
    ENDED_EARLY = "ended_early"
    EXTENDED = "extended"
    WITHDRAWN = "withdrawn"


TRANSITIONS: Final[dict[OfferState, frozenset[OfferState]]] = {
    OfferState.OFFERED: frozenset(
        {OfferState.ACCEPTED, OfferState.DECLINED, OfferState.EXPIRED, OfferState.WITHDRAWN}
    ),
    OfferState.ACCEPTED: frozenset(
        {OfferState.PRE_DEPARTURE, OfferState.DECLINED, OfferState.WITHDRAWN}
    ),
    OfferState.PRE_DEPARTURE: frozenset(
        {OfferState.DEPLOYED, OfferState.DECLINED, OfferState.WITHDRAWN}
    ),
    OfferState.DEPLOYED: frozenset(
        {OfferState.COMPLETED, OfferState.ENDED_EARLY, OfferState.EXTENDED}
    ),
    OfferState.EXTENDED: frozenset({OfferState.COMPLETED, OfferState.ENDED_EARLY}),
    OfferState.DECLINED: frozenset(),
    OfferState.EXPIRED: frozenset(),
    OfferState.COMPLETED: frozenset(),
    OfferState.ENDED_EARLY: frozenset(),
    OfferState.WITHDRAWN: frozenset(),
}
"""The one table of allowed transitions: state -> the states that may follow it."""

FROZEN_STATES: Final = frozenset(
    {OfferState.ACCEPTED, OfferState.PRE_DEPARTURE, OfferState.DEPLOYED, OfferState.EXTENDED}
)
"""States whose volunteer a backfill never moves (they said yes, or they are there)."""

OPEN_STATES: Final = frozenset({OfferState.OFFERED})
"""States of an offer still waiting for its answer: a backfill may move it (within the
policy's `move_cost` / `max_moves`)."""

VACATING_STATES: Final = frozenset({OfferState.DECLINED, OfferState.EXPIRED})
"""States that free the slot again: they trigger a backfill proposal."""

FINAL_STATES: Final = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
"""States after which nothing changes."""

WITHDRAWABLE_STATES: Final = frozenset(
    s for s, nxt in TRANSITIONS.items() if OfferState.WITHDRAWN in nxt
)
"""States an offer can be withdrawn from (a deployed volunteer ends early instead)."""


class TransitionError(ValueError):
    """A change of state the table does not allow (names both states)."""

    def __init__(self, frm: OfferState | None, to: OfferState) -> None:
        self.frm, self.to = frm, to
        allowed = ", ".join(sorted(TRANSITIONS[frm])) if frm is not None else "offered"
        start = "a new offer" if frm is None else f"an offer in state {frm.value!r}"
        super().__init__(
            f"{start} cannot become {to.value!r} (allowed: {allowed or 'none, it is final'})"
        )


def check_transition(frm: OfferState | str | None, to: OfferState | str) -> OfferState:
    """The new state when `frm -> to` is allowed; raises `TransitionError` otherwise.

    `frm` None is an offer being made: only `offered` may start a history. Strings are
    read as `OfferState` values (a `ValueError` names an unknown one).
    """
    target = OfferState(to)
    if frm is None:
        if target is not OfferState.OFFERED:
            raise TransitionError(None, target)
        return target
    source = OfferState(frm)
    if target not in TRANSITIONS[source]:
        raise TransitionError(source, target)
    return target


class DeclineReason(StrEnum):
    """Why an offer was declined (the fixed list; `Event.text` adds detail)."""

    PERSONAL = "personal"
    HEALTH = "health"
    OTHER_OFFER = "other_offer"
    DATES = "dates"
    LOCATION = "location"
    ROLE_FIT = "role_fit"
    VISA = "visa"
    HOST_DECLINED = "host_declined"
    NO_REPLY = "no_reply"
    OTHER = "other"


class EarlyEndReason(StrEnum):
    """Why a deployment ended before its planned end."""

    HEALTH = "health"
    SECURITY = "security"
    SKILLS_MISMATCH = "skills_mismatch"
    HOST_ISSUE = "host_issue"
    PERSONAL = "personal"


class Outcome(BaseModel):
    """How a deployment ended: completed or ended early, with both sides' ratings."""

    model_config = _FROZEN

    volunteer: VolunteerId = Field(description="Volunteer id.")
    placement: PlacementId = Field(description="Placement id.")
    host: str | None = Field(None, description="Host partner of the placement, if known.")
    country: str | None = Field(None, description="Host country (alpha-2), if known.")
    completed: bool = Field(description="True: served to the end (or beyond); False: ended early.")
    ended_early_reason: EarlyEndReason | None = Field(
        None, description="Required when `completed` is false."
    )
    host_rating: int | None = Field(
        None, ge=1, le=5, description="The host partner's rating of the volunteer (1-5)."
    )
    volunteer_rating: int | None = Field(
        None, ge=1, le=5, description="The volunteer's rating of the placement (1-5)."
    )
    report: str = Field("", max_length=2000, description="Short report (free text).")
    ended_on: dt.date | None = Field(None, description="Last day of service.")
    round: str | None = Field(None, description="Round the deployment came from.")

    @model_validator(mode="after")
    def _reason_when_early(self) -> Outcome:
        if not self.completed and self.ended_early_reason is None:
            raise ValueError("ended_early_reason is required when completed is false")
        if self.completed and self.ended_early_reason is not None:
            raise ValueError("ended_early_reason is only for deployments that ended early")
        return self


class Event(BaseModel):
    """One change of an offer's state: who made it, when, from what to what, and why.

    `frm` None is the offer being made. `reason` is a `DeclineReason` value for a decline
    or an `EarlyEndReason` value for an early end; `text` is free detail. `by` names the
    actor's role and id (`coordinator:ana`, `volunteer:V001`, `host:H03`, `system`),
    never a person's name. `round` and `wave` say which matching the offer came from.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, populate_by_name=True
    )

    volunteer: VolunteerId = Field(description="Volunteer id of the offer.")
    placement: PlacementId = Field(description="Placement id of the offer.")
    at: dt.datetime = Field(description="When the change happened (ISO 8601).")
    by: str = Field("system", max_length=128, description="Who made it: role:id or system.")
    frm: OfferState | None = Field(
        None, alias="from", description="State before (null: the offer is made)."
    )
    to: OfferState = Field(description="State after.")
    reason: str | None = Field(None, description="Decline or early-end reason code.")
    text: str = Field("", max_length=2000, description="Free detail.")
    round: str = Field("round", description="Round id the offer belongs to.")
    wave: int = Field(
        1, ge=1, le=limits.MAX_WAVES, description="Wave of the round that made the offer."
    )

    @model_validator(mode="after")
    def _transition_and_reason(self) -> Event:
        check_transition(self.frm, self.to)
        if self.reason is not None:
            if self.to is OfferState.DECLINED:
                DeclineReason(self.reason)
            elif self.to is OfferState.ENDED_EARLY:
                EarlyEndReason(self.reason)
            elif self.to is not OfferState.EXPIRED:
                raise ValueError(
                    f"a reason is only given for a decline or an early end, not {self.to.value!r}"
                )
        elif self.to is OfferState.ENDED_EARLY:
            raise ValueError("an early end needs a reason (" + ", ".join(EarlyEndReason) + ")")
        return self


class InvalidBackfill(VolmatchError):
    """A backfill asked with ids the round does not know or that contradict each other;
    carries every error at once (record and field named)."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        self.errors: list[ErrorItem] = list(errors)
        head = f"{len(self.errors)} error(s) in the backfill request"
        super().__init__(head + "".join(f"\n  - {e}" for e in self.errors))


class InvalidHistory(VolmatchError):
    """Events or outcomes that do not make a history (unknown round or placement, a
    transition the table forbids, a bad field); every error names the record and field."""

    def __init__(self, errors: list[ErrorItem]) -> None:
        self.errors: list[ErrorItem] = list(errors)
        head = f"{len(self.errors)} error(s) in the history"
        super().__init__(head + "".join(f"\n  - {e}" for e in self.errors))


class Programme(BaseModel):
    """The file of a coordinator who works offline (`volmatch report`): the rounds by id
    (each a round document's path, relative to this file), the events of their offers
    and the outcomes of their deployments."""

    model_config = _FROZEN

    rounds: dict[str, str] = Field(description="Round id -> path of its round document.")
    events: tuple[Event, ...] = Field((), description="Every change of an offer, any order.")
    outcomes: tuple[Outcome, ...] = Field((), description="How deployments ended.")


class NewOffer(BaseModel):
    """An offer a backfill proposes: to a volunteer without one, or a moved one."""

    model_config = _FROZEN

    volunteer: VolunteerId = Field(description="Volunteer id.")
    placement: PlacementId = Field(description="Placement id.")
    score: int = Field(description="Score of the pair.")
    replaces: tuple[str, ...] = Field(
        (), description="Volunteers whose declined or moved offer at this placement it fills."
    )
    moved_from: str | None = Field(
        None, description="The placement of the volunteer's pending offer it replaces, if any."
    )


class BackfillMove(BaseModel):
    """A pending offer that a backfill changes: who, from where, to where, why."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    volunteer: VolunteerId = Field(description="Volunteer id.")
    frm: PlacementId = Field(alias="from", description="Placement of the pending offer.")
    to: PlacementId | None = Field(description="New placement; null: the offer is withdrawn.")
    reason: str = Field(description="Why, in plain words (a true claim).")
    detail: Reason | None = Field(
        None, description="The same reason as structured parts (code and params)."
    )


class BackfillProposal(BaseModel):
    """What a backfill proposes: the whole new assignment and what changes in it.

    `total_before` is the score of what stands (frozen people and pending offers that can
    still be kept), `total` that of the proposed assignment, `total_change` the
    difference. `objective` is `total` minus `move_cost` per pending offer changed;
    `bound` its proven upper bound (equal for the pure policy).
    """

    model_config = _FROZEN

    status: Literal["optimal", "feasible", "infeasible"] = Field(description="As for a round.")
    objective: int = Field(description="total minus move_cost per pending offer changed.")
    bound: int = Field(description="Proven upper bound on the objective.")
    total_before: int = Field(description="Score of the offers that stand.")
    total: int = Field(description="Score of the proposed assignment.")
    total_change: int = Field(description="total - total_before.")
    assignment: tuple[tuple[str, str], ...] = Field(
        description="The whole new assignment: (volunteer, placement), by volunteer id."
    )
    new_offers: tuple[NewOffer, ...] = Field(description="Offers to make.")
    moves: tuple[BackfillMove, ...] = Field(description="Pending offers that change.")
    frozen: tuple[str, ...] = Field(description="Volunteers kept where they are.")
    declined: tuple[str, ...] = Field(description="Volunteers out of the round.")
    withdrawn: tuple[str, ...] = Field(description="Placements withdrawn by their host.")

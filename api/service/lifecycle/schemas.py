"""Request and response schemas of the lifecycle endpoints, one per use."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from volmatch.models.lifecycle import DeclineReason, EarlyEndReason
from volmatch.models.round import PlacementId, VolunteerId

_STRICT = ConfigDict(extra="forbid", frozen=True)

StateName = Literal[
    "offered",
    "accepted",
    "declined",
    "expired",
    "pre_departure",
    "deployed",
    "completed",
    "ended_early",
    "extended",
    "withdrawn",
]


class OfferPublic(BaseModel):
    id: int
    round_id: str
    wave: int
    volunteer: str
    placement: str
    host: str
    state: StateName
    score: int
    start: dt.date
    months: int
    deadline: dt.datetime
    host_decision: Literal["accepted", "declined"] | None
    created_at: dt.datetime
    updated_at: dt.datetime


class EventPublic(BaseModel):
    """One change of an offer (append-only): who, when, from, to, why."""

    model_config = ConfigDict(populate_by_name=True)
    id: int
    offer_id: int
    round: str
    wave: int
    volunteer: str
    placement: str
    at: dt.datetime
    by: str = Field(description="role:key id, host:H01, volunteer:V001 or system.")
    action: str = Field(
        description="publish, reply, host, state, expire, backfill, withdraw or outcome."
    )
    from_: StateName | None = Field(alias="from")
    to: StateName
    reason: str | None
    text: str


class OfferDetail(BaseModel):
    offer: OfferPublic
    events: list[EventPublic]


class ReplyIn(BaseModel):
    """The volunteer's answer (a coordinator records it, or the volunteer gives it
    through the personal link)."""

    model_config = _STRICT
    answer: Literal["accept", "decline"]
    reason: DeclineReason | None = Field(None, description="Required to decline.")
    text: str = Field("", max_length=2000, description="Free detail.")


class HostDecisionIn(BaseModel):
    model_config = _STRICT
    decision: Literal["accept", "decline"]
    text: str = Field("", max_length=2000)


class StateIn(BaseModel):
    """A deployment state recorded by a coordinator."""

    model_config = _STRICT
    to: Literal["pre_departure", "deployed", "completed", "ended_early", "extended", "declined"]
    reason: str | None = Field(
        None, max_length=32, description="A decline or early-end reason code (required for those)."
    )
    text: str = Field("", max_length=2000)


class OutcomeIn(BaseModel):
    model_config = _STRICT
    completed: bool
    ended_early_reason: EarlyEndReason | None = None
    host_rating: int | None = Field(None, ge=1, le=5)
    volunteer_rating: int | None = Field(None, ge=1, le=5)
    report: str = Field("", max_length=2000)
    ended_on: dt.date | None = None


class OutcomePublic(BaseModel):
    offer_id: int
    volunteer: str
    placement: str
    host: str | None
    country: str | None
    completed: bool
    ended_early_reason: str | None
    host_rating: int | None
    volunteer_rating: int | None
    report: str
    ended_on: dt.date | None
    round: str | None
    recorded_by: str
    recorded_at: dt.datetime


class LinkIssued(BaseModel):
    offer_id: int
    token: str = Field(description="Shown once: only its hash is stored.")
    url: str = Field(description="The path to send to the volunteer.")
    expires_at: dt.datetime


class BackfillPublic(BaseModel):
    id: int
    round_id: str
    version: int = Field(description="The round's version the proposal was computed at.")
    wave: int
    status: Literal["pending", "open", "confirmed", "superseded", "failed"] = Field(
        description="`pending`: asked for (by a decline, an expiry, a withdrawn need, a "
        "new wave or `POST .../backfills`) and being computed outside the change's "
        "transaction (read it again at `url` in a moment); `failed`: the engine refused "
        "(`error`)."
    )
    url: str = Field(description="Where this proposal is read (GET).")
    trigger: dict[str, Any]
    proposal: dict[str, Any] | None = Field(
        description="The engine's BackfillProposal: assignment, new_offers (each with "
        "the offer's start and months too), moves, total_change ...; null while pending "
        "or failed."
    )
    error: str | None = Field(None, description="Why the engine refused (status `failed`).")
    created_by: str
    created_at: dt.datetime
    confirmed_by: str | None
    confirmed_at: dt.datetime | None


class LifecyclePublic(BaseModel):
    round_id: str
    version: int
    wave: int
    offer_days: int
    withdrawn: list[str]
    reserves: list[dict[str, Any]] = Field(
        description="Per placement, its ranked reserves with their exact cost to the round."
    )
    states: dict[str, int] = Field(description="Newest offer per volunteer, by state.")
    published_at: dt.datetime
    updated_at: dt.datetime


class WaveIn(BaseModel):
    """Late volunteers and needs (stored records, by id) that join the round."""

    model_config = _STRICT
    volunteers: list[VolunteerId] = Field(default_factory=list, max_length=50_000)
    placements: list[PlacementId] = Field(default_factory=list, max_length=20_000)


class WavePublic(BaseModel):
    round_id: str
    number: int
    volunteers: list[str]
    placements: list[str]
    opened_by: str
    opened_at: dt.datetime


class WaveOpened(BaseModel):
    wave: WavePublic
    backfill: BackfillPublic


class WithdrawIn(BaseModel):
    model_config = _STRICT
    text: str = Field("", max_length=2000)


class ChangeOut(BaseModel):
    """An offer after a change, and the backfill it triggered (if it freed a slot)."""

    offer: OfferPublic
    backfill: BackfillPublic | None


class TickOut(BaseModel):
    expired: list[int]
    queued: int
    sent: int


class ReminderPublic(BaseModel):
    id: int
    kind: str
    role: str
    host_id: str | None
    round_id: str | None
    offer_id: int | None
    subject: str
    body: str
    due_at: dt.datetime
    created_at: dt.datetime
    sent_at: dt.datetime | None

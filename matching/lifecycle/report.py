"""The programme report (monitoring and evaluation): what the offers of one or more
rounds became, counted from their event history and outcomes. Pure: it reads lists.

Each offer is one (round, volunteer, placement); its history is the events naming it,
replayed in time order through `check_transition` (a history that breaks the table is
an error naming the event). A new offer (`from` null) of a pair whose earlier offer is
final (a volunteer moved back to a placement, or offered it again in a later wave) is a
new offer. Counted per offer:

- `offered`: offers made; `accepted`, `deployed`, `completed`: offers that reached that
  state (an extension counts as deployed; an offer accepted and later declined still
  counts as accepted once);
- `filled`: offers whose latest state holds the slot (accepted, pre-departure, deployed,
  extended, completed) or ended early (it was filled, then left); an offer withdrawn
  (moved by a backfill, or its need withdrawn) or declined after its acceptance holds
  nothing;
- `declined`, `expired`, `withdrawn`, `ended_early`, with the reasons given;
- `decline_rate` = declined / offered, `early_return_rate` = ended_early / deployed,
  `completion_rate` = completed / (completed + ended_early) (per host: its reliability);
- `days_to_accept`: from the offer's `offered` event (its publication) to `accepted`,
  mean and median in days.

Grouped by round, wave, country, host, sector and SDG target (an offer counts for each
target of its placement). `slots` is the placements' slots where the group is made of
placements (not for waves). The sector of a placement is its `needs_assessment`'s
`sector` where given, else the first skill it asks for, else `unspecified`. Urgent
needs are placements of priority >= `URGENT_PRIORITY` (as in the round's key figures):
`urgent` counts their slots and the slots filled.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from volmatch.models import ErrorItem, Placement
from volmatch.models.codes import URGENT_PRIORITY
from volmatch.models.lifecycle import (
    FINAL_STATES,
    Event,
    InvalidHistory,
    OfferState,
    Outcome,
    TransitionError,
    check_transition,
)

GROUPS = ("round", "wave", "country", "host", "sector", "sdg_target")
"""The dimensions of the report, in the order its sections come."""

_HOLDING = frozenset(
    {
        OfferState.ACCEPTED,
        OfferState.PRE_DEPARTURE,
        OfferState.DEPLOYED,
        OfferState.EXTENDED,
        OfferState.COMPLETED,
        OfferState.ENDED_EARLY,
    }
)
_REACHED = {
    "accepted": frozenset({OfferState.ACCEPTED}),
    "deployed": frozenset({OfferState.DEPLOYED, OfferState.EXTENDED}),
    "completed": frozenset({OfferState.COMPLETED}),
    "declined": frozenset({OfferState.DECLINED}),
    "expired": frozenset({OfferState.EXPIRED}),
    "withdrawn": frozenset({OfferState.WITHDRAWN}),
    "ended_early": frozenset({OfferState.ENDED_EARLY}),
}
COUNTS = ("offered", "filled", *_REACHED)
"""The counts of every group, in order."""


@dataclass
class OfferHistory:
    """One offer and the states it went through, in order."""

    round: str
    wave: int
    volunteer: str
    placement: str
    states: list[OfferState] = field(default_factory=list)
    offered_at: Any = None
    accepted_at: Any = None
    decline_reason: str | None = None
    early_reason: str | None = None

    @property
    def state(self) -> OfferState:
        """The latest state."""
        return self.states[-1]


def replay(events: Iterable[Event]) -> list[OfferHistory]:
    """Every offer's history from the events (stable time order); raises
    `InvalidHistory` naming each event whose transition breaks the table."""
    indexed = sorted(enumerate(events), key=lambda ke: ke[1].at)
    offers: dict[tuple[str, str, str], OfferHistory] = {}
    done: list[OfferHistory] = []
    errors: list[ErrorItem] = []
    for k, e in indexed:
        key = (e.round, e.volunteer, e.placement)
        h = offers.get(key)
        if h is not None and e.frm is None and h.state in FINAL_STATES:
            done.append(offers.pop(key))
            h = None
        current = None if h is None else h.state
        if current != e.frm:
            was = "no offer" if current is None else f"the offer is {current.value!r}"
            errors.append(
                ErrorItem("events", f"events[{k}]", "from", f"says {_name(e.frm)} but {was}")
            )
            continue
        try:
            check_transition(e.frm, e.to)
        except TransitionError as exc:
            errors.append(ErrorItem("events", f"events[{k}]", "to", str(exc)))
            continue
        if h is None:
            h = offers[key] = OfferHistory(e.round, e.wave, e.volunteer, e.placement)
            h.offered_at = e.at
        h.states.append(e.to)
        if e.to is OfferState.ACCEPTED and h.accepted_at is None:
            h.accepted_at = e.at
        if e.to is OfferState.DECLINED:
            h.decline_reason = e.reason or "unspecified"
        if e.to is OfferState.ENDED_EARLY:
            h.early_reason = e.reason
    if errors:
        raise InvalidHistory(errors)
    return [*done, *offers.values()]


def _name(s: OfferState | None) -> str:
    return "a new offer" if s is None else repr(s.value)


def sector_of(p: Placement) -> str:
    """The placement's sector (see the module docstring)."""
    if p.needs_assessment and isinstance(p.needs_assessment.get("sector"), str):
        return str(p.needs_assessment["sector"])
    asks = [*p.required_skills, *p.desired_skills]
    return asks[0] if asks else "unspecified"


def _keys(group: str, h: OfferHistory, p: Placement) -> list[str]:
    if group == "round":
        return [h.round]
    if group == "wave":
        return [f"{h.round}/{h.wave}"]
    if group == "country":
        return [p.country]
    if group == "host":
        return [p.host]
    if group == "sector":
        return [sector_of(p)]
    return list(p.sdg_targets) or ["none"]


def _slot_keys(group: str, rnd: str, p: Placement) -> list[str]:
    fake = OfferHistory(rnd, 0, "", p.id)
    return [] if group == "wave" else _keys(group, fake, p)


def _summary(hs: Sequence[OfferHistory], slots: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"slots": slots}
    out["offered"] = len(hs)
    out["filled"] = sum(h.state in _HOLDING for h in hs)
    for name, states in _REACHED.items():
        out[name] = sum(any(s in states for s in h.states) for h in hs)
    out["decline_rate"] = round(out["declined"] / out["offered"], 4) if out["offered"] else None
    out["early_return_rate"] = (
        round(out["ended_early"] / out["deployed"], 4) if out["deployed"] else None
    )
    ended = out["completed"] + out["ended_early"]
    out["completion_rate"] = round(out["completed"] / ended, 4) if ended else None
    reasons: dict[str, int] = {}
    early: dict[str, int] = {}
    for h in hs:
        if h.decline_reason is not None and OfferState.DECLINED in h.states:
            reasons[h.decline_reason] = reasons.get(h.decline_reason, 0) + 1
        if h.early_reason is not None:
            early[h.early_reason] = early.get(h.early_reason, 0) + 1
    out["decline_reasons"] = dict(sorted(reasons.items()))
    out["early_return_reasons"] = dict(sorted(early.items()))
    days = [
        (h.accepted_at - h.offered_at).total_seconds() / 86400
        for h in hs
        if h.accepted_at is not None
    ]
    out["days_to_accept"] = (
        {"mean": round(statistics.fmean(days), 2), "median": round(statistics.median(days), 2)}
        if days
        else None
    )
    return out


def programme_report(
    placements: Mapping[str, Sequence[Placement]],
    events: Iterable[Event],
    outcomes: Iterable[Outcome] = (),
) -> dict[str, Any]:
    """The report as a JSON-ready mapping: `totals`, one section per group in `GROUPS`
    (key -> counts), `urgent` (slots and filled of urgent placements) and `outcomes`
    (completions and mean ratings). `placements`: round id -> its placements.
    Raises `InvalidHistory` naming each bad event (unknown round or placement included).
    """
    evs = list(events)
    index = {(rnd, p.id): p for rnd, ps in placements.items() for p in ps}
    errors = [
        ErrorItem(
            "events",
            f"events[{k}]",
            "placement" if e.round in placements else "round",
            f"unknown placement {e.placement!r} in round {e.round!r}",
        )
        for k, e in enumerate(evs)
        if (e.round, e.placement) not in index
    ]
    if errors:
        raise InvalidHistory(errors)
    hist = replay(evs)
    out: dict[str, Any] = {"totals": _summary(hist, sum(p.slots for p in index.values()))}
    for group in GROUPS:
        members: dict[str, list[OfferHistory]] = {}
        slots: dict[str, int] = {}
        for (rnd, _), p in index.items():
            for key in _slot_keys(group, rnd, p):
                slots[key] = slots.get(key, 0) + p.slots
        for h in hist:
            for key in _keys(group, h, index[(h.round, h.placement)]):
                members.setdefault(key, []).append(h)
        keys = sorted(set(members) | set(slots))
        out[group] = {
            k: _summary(members.get(k, []), None if group == "wave" else slots.get(k, 0))
            for k in keys
        }
    urgent = {key for key, p in index.items() if p.priority >= URGENT_PRIORITY}
    held: dict[tuple[str, str], int] = {}
    for h in hist:
        if h.state in _HOLDING:
            held[(h.round, h.placement)] = held.get((h.round, h.placement), 0) + 1
    out["urgent"] = {
        "placements": len(urgent),
        "slots": sum(index[k].slots for k in urgent),
        "filled": sum(min(held.get(k, 0), index[k].slots) for k in urgent),
    }
    outs = list(outcomes)
    host_r = [o.host_rating for o in outs if o.host_rating is not None]
    vol_r = [o.volunteer_rating for o in outs if o.volunteer_rating is not None]
    out["outcomes"] = {
        "recorded": len(outs),
        "completed": sum(o.completed for o in outs),
        "ended_early": sum(not o.completed for o in outs),
        "mean_host_rating": round(statistics.fmean(host_r), 2) if host_r else None,
        "mean_volunteer_rating": round(statistics.fmean(vol_r), 2) if vol_r else None,
    }
    return out

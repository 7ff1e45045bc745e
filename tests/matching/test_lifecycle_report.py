"""The programme report (`matching.lifecycle.report`): its counts equal the events (any
random walk through the transition table), bad histories are errors naming the event."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import plc
from volmatch.matching.lifecycle.report import programme_report
from volmatch.models import Placement
from volmatch.models.lifecycle import (
    FROZEN_STATES,
    TRANSITIONS,
    Event,
    InvalidHistory,
    OfferState,
)

T0 = dt.datetime(2027, 1, 5, 9, 0)
HOLDING = {*FROZEN_STATES, OfferState.COMPLETED, OfferState.ENDED_EARLY}
"""Latest states that count an offer as filled (written here apart from the report)."""
PLACEMENTS = [
    Placement.model_validate(
        plc(
            "P1",
            host="H1",
            country="NP",
            priority=5,
            slots=2,
            sdg_targets=["4.1", "17.6"],
            desired_skills={"teaching": 3},
        )
    ),
    Placement.model_validate(plc("P2", host="H2", country="KE", priority=2, sdg_targets=["3.8"])),
]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    n = draw(st.integers(0, 8))
    for k in range(n):
        vid, pid = f"V{k}", draw(st.sampled_from(["P1", "P2"]))
        rnd = draw(st.sampled_from(["R1", "R2"]))
        wave = draw(st.integers(1, 2))
        at = T0 + dt.timedelta(hours=draw(st.integers(0, 48)))
        frm: OfferState | None = None
        to = OfferState.OFFERED
        while True:
            reason = None
            if to is OfferState.DECLINED:
                reason = draw(st.sampled_from(["visa", "personal", None]))
            if to is OfferState.ENDED_EARLY:
                reason = draw(st.sampled_from(["health", "skills_mismatch"]))
            events.append(
                Event.model_validate(
                    {
                        "volunteer": vid,
                        "placement": pid,
                        "at": at,
                        "from": frm,
                        "to": to,
                        "reason": reason,
                        "round": rnd,
                        "wave": wave,
                    }
                )
            )
            nxt = sorted(TRANSITIONS[to])
            if not nxt or draw(st.integers(0, 4)) == 0:
                break
            frm, to = to, draw(st.sampled_from(nxt))
            at = at + dt.timedelta(days=draw(st.integers(1, 30)))
    return events


@settings(max_examples=40)
@given(histories())
def test_report_counts_equal_the_events(events: list[Event]) -> None:
    shuffled = sorted(events, key=lambda e: (e.volunteer, -e.at.timestamp()))
    rep = programme_report({"R1": PLACEMENTS, "R2": PLACEMENTS}, shuffled)
    reached = Counter(e.to for e in events)
    t = rep["totals"]
    assert t["offered"] == reached[OfferState.OFFERED]
    assert t["accepted"] == reached[OfferState.ACCEPTED]
    assert t["declined"] == reached[OfferState.DECLINED]
    assert t["expired"] == reached[OfferState.EXPIRED]
    assert t["completed"] == reached[OfferState.COMPLETED]
    assert t["ended_early"] == reached[OfferState.ENDED_EARLY]
    assert t["deployed"] == reached[OfferState.DEPLOYED]  # extended only after deployed
    assert t["withdrawn"] == reached[OfferState.WITHDRAWN]
    last: dict[tuple[str, str, str], OfferState] = {}
    for e in sorted(events, key=lambda e: e.at):
        last[(e.round, e.volunteer, e.placement)] = e.to
    assert t["filled"] == sum(s in HOLDING for s in last.values())
    assert sum(t["decline_reasons"].values()) == t["declined"]
    assert sum(t["early_return_reasons"].values()) == t["ended_early"]
    assert t["slots"] == 6
    for group in ("round", "wave", "country", "host", "sector"):
        assert sum(g["offered"] for g in rep[group].values()) == t["offered"]
        assert sum(g["completed"] for g in rep[group].values()) == t["completed"]
    at_p1 = sum(1 for e in events if e.to is OfferState.OFFERED and e.placement == "P1")
    assert rep["sdg_target"].get("4.1", {"offered": 0})["offered"] == at_p1
    assert rep["sector"].get("teaching", {"offered": 0})["offered"] == at_p1
    assert rep["urgent"]["slots"] == 4


def _ev(**kw: Any) -> Event:
    base: dict[str, Any] = {"volunteer": "V1", "placement": "P1", "at": T0, "round": "R1"}
    base.update(kw)
    return Event.model_validate(base)


def test_days_to_accept_and_rates() -> None:
    evs = [
        _ev(to="offered"),
        _ev(**{"from": "offered"}, to="accepted", at=T0 + dt.timedelta(days=3)),
        _ev(volunteer="V2", to="offered"),
        _ev(
            volunteer="V2",
            **{"from": "offered"},
            to="declined",
            reason="visa",
            at=T0 + dt.timedelta(days=1),
        ),
    ]
    t = programme_report({"R1": PLACEMENTS}, evs)["totals"]
    assert t["days_to_accept"] == {"mean": 3.0, "median": 3.0}
    assert t["decline_rate"] == 0.5 and t["decline_reasons"] == {"visa": 1}
    assert t["filled"] == 1


def test_a_broken_history_names_the_event_and_field() -> None:
    evs = [
        _ev(to="offered"),
        _ev(**{"from": "accepted"}, to="pre_departure", at=T0 + dt.timedelta(days=1)),
    ]
    with pytest.raises(
        InvalidHistory, match=r"events\[1\]: from: says 'accepted' but the offer is 'offered'"
    ):
        programme_report({"R1": PLACEMENTS}, evs)
    with pytest.raises(InvalidHistory, match=r"events\[0\]: placement: unknown placement 'P9'"):
        programme_report({"R1": PLACEMENTS}, [_ev(placement="P9", to="offered")])


def test_a_withdrawn_acceptance_holds_no_slot() -> None:
    evs = [
        _ev(to="offered"),
        _ev(**{"from": "offered"}, to="accepted", at=T0 + dt.timedelta(days=2)),
        _ev(**{"from": "accepted"}, to="withdrawn", at=T0 + dt.timedelta(days=5)),
        _ev(volunteer="V2", to="offered"),
        _ev(volunteer="V2", **{"from": "offered"}, to="withdrawn", at=T0 + dt.timedelta(days=1)),
    ]
    rep = programme_report({"R1": PLACEMENTS}, evs)
    t = rep["totals"]
    assert (t["offered"], t["accepted"], t["withdrawn"], t["filled"]) == (2, 1, 2, 0)
    assert rep["urgent"]["filled"] == 0
    assert rep["host"]["H1"]["filled"] == 0


def test_an_offer_made_again_after_a_final_state_is_a_new_offer() -> None:
    evs = [
        _ev(to="offered"),
        _ev(**{"from": "offered"}, to="withdrawn", at=T0 + dt.timedelta(days=1)),
        _ev(to="offered", at=T0 + dt.timedelta(days=2), wave=2),
        _ev(**{"from": "offered"}, to="accepted", at=T0 + dt.timedelta(days=3)),
    ]
    rep = programme_report({"R1": PLACEMENTS}, evs)
    t = rep["totals"]
    assert (t["offered"], t["withdrawn"], t["accepted"], t["filled"]) == (2, 1, 1, 1)
    assert t["days_to_accept"] == {"mean": 1.0, "median": 1.0}
    assert {k: g["offered"] for k, g in rep["wave"].items()} == {"R1/1": 1, "R1/2": 1}

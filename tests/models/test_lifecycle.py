"""The offer life cycle (`models.lifecycle`): one transition table, events that check
their own transition and reason, outcomes that need a reason when they end early."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from volmatch.models import Policy
from volmatch.models.lifecycle import (
    FINAL_STATES,
    FROZEN_STATES,
    TRANSITIONS,
    WITHDRAWABLE_STATES,
    EarlyEndReason,
    Event,
    OfferState,
    Outcome,
    TransitionError,
    check_transition,
)

S = OfferState


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (None, S.OFFERED),
        (S.OFFERED, S.ACCEPTED),
        (S.OFFERED, S.DECLINED),
        (S.OFFERED, S.EXPIRED),
        (S.ACCEPTED, S.PRE_DEPARTURE),
        (S.PRE_DEPARTURE, S.DEPLOYED),
        (S.DEPLOYED, S.COMPLETED),
        (S.DEPLOYED, S.ENDED_EARLY),
        (S.DEPLOYED, S.EXTENDED),
        (S.EXTENDED, S.COMPLETED),
        (S.OFFERED, S.WITHDRAWN),
        (S.ACCEPTED, S.WITHDRAWN),
        (S.PRE_DEPARTURE, S.WITHDRAWN),
    ],
)
def test_allowed_transitions(frm: S | None, to: S) -> None:
    assert check_transition(frm, to) is to


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (None, S.ACCEPTED),
        (S.OFFERED, S.DEPLOYED),
        (S.DECLINED, S.ACCEPTED),
        (S.EXPIRED, S.ACCEPTED),
        (S.COMPLETED, S.EXTENDED),
        (S.ACCEPTED, S.ACCEPTED),
        (S.DEPLOYED, S.WITHDRAWN),
        (S.WITHDRAWN, S.OFFERED),
        (S.DECLINED, S.WITHDRAWN),
    ],
)
def test_forbidden_transitions_name_both_states(frm: S | None, to: S) -> None:
    with pytest.raises(TransitionError) as e:
        check_transition(frm, to)
    assert repr(to.value) in str(e.value)
    if frm is not None:
        assert repr(frm.value) in str(e.value)


def test_final_states_have_no_way_out_and_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(S)
    assert {S.DECLINED, S.EXPIRED, S.COMPLETED, S.ENDED_EARLY, S.WITHDRAWN} == FINAL_STATES
    assert {S.OFFERED, S.ACCEPTED, S.PRE_DEPARTURE} == WITHDRAWABLE_STATES
    for s in FINAL_STATES:
        assert TRANSITIONS[s] == frozenset()
        with pytest.raises(TransitionError, match="final"):
            check_transition(s, S.OFFERED)
    assert S.OFFERED not in FROZEN_STATES and S.DEPLOYED in FROZEN_STATES


def test_strings_are_read_as_states() -> None:
    assert check_transition("offered", "declined") is S.DECLINED
    with pytest.raises(ValueError, match="'gone'"):
        check_transition("offered", "gone")


def _event(**kw: object) -> Event:
    base: dict[str, object] = {
        "volunteer": "V1",
        "placement": "P1",
        "at": dt.datetime(2027, 1, 5, 10, 0),
        "from": "offered",
        "to": "declined",
        "reason": "visa",
    }
    base.update(kw)
    return Event.model_validate(base)


def test_event_checks_transition_and_reason() -> None:
    e = _event()
    assert e.frm is S.OFFERED and e.reason == "visa"
    assert e.model_dump(by_alias=True, mode="json")["from"] == "offered"
    with pytest.raises(ValidationError, match="cannot become 'deployed'"):
        _event(to="deployed", reason=None)
    with pytest.raises(ValidationError, match="'bored'"):
        _event(reason="bored")
    with pytest.raises(ValidationError, match="early end needs a reason"):
        _event(**{"from": "deployed", "to": "ended_early", "reason": None})
    ok = _event(**{"from": "deployed", "to": "ended_early", "reason": "skills_mismatch"})
    assert EarlyEndReason(ok.reason) is EarlyEndReason.SKILLS_MISMATCH
    with pytest.raises(ValidationError, match="only given for a decline"):
        _event(to="accepted", reason="visa")


def test_outcome_needs_a_reason_exactly_when_it_ended_early() -> None:
    Outcome(volunteer="V1", placement="P1", completed=True, host_rating=5)
    Outcome(volunteer="V1", placement="P1", completed=False, ended_early_reason="health")
    with pytest.raises(ValidationError, match="required when completed is false"):
        Outcome(volunteer="V1", placement="P1", completed=False)
    with pytest.raises(ValidationError, match="only for deployments that ended early"):
        Outcome(volunteer="V1", placement="P1", completed=True, ended_early_reason="health")
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        Outcome(volunteer="V1", placement="P1", completed=True, host_rating=6)


def test_policy_lifecycle_fields_are_off_by_default() -> None:
    p = Policy()
    assert p.offer_days == 14
    assert p.continuity_bonus is None
    assert not p.exclude_skills_mismatch and not p.host_reliability_kpi
    assert p.rules_in_use() == []

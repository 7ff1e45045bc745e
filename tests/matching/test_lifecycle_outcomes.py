"""Outcomes feeding the next round (`matching.lifecycle.outcomes`): off by default; the
continuity bonus shows in the score breakdown; a skills mismatch is not repeated."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import doc, plc, vol
from volmatch.matching import solve_round
from volmatch.matching.lifecycle import (
    apply_outcomes,
    host_reliability,
    outcome_kpis,
    solve_with_outcomes,
)
from volmatch.models import InvalidRound, parse_round
from volmatch.models.lifecycle import Outcome


def _round(**policy: Any) -> Any:
    return parse_round(
        doc(
            [vol("V1"), vol("V2")],
            [plc("P1", host="H1"), plc("P2", host="H2", country="KE")],
            **policy,
        )
    )


DONE_WELL = Outcome(
    volunteer="V1", placement="OLD1", host="H2", country="KE", completed=True, host_rating=5
)
MISMATCH = Outcome(
    volunteer="V2",
    placement="OLD2",
    host="H1",
    country="NP",
    completed=False,
    ended_early_reason="skills_mismatch",
)


def test_outcomes_change_nothing_when_the_policy_is_off() -> None:
    r = _round()
    assert apply_outcomes(r, [DONE_WELL, MISMATCH]) is r


def test_continuity_bonus_shows_in_the_breakdown() -> None:
    r = apply_outcomes(_round(continuity_bonus={"host": 150, "country": 50}), [DONE_WELL])
    assert [(b.volunteer, b.placement, b.points) for b in r.policy.bonus] == [("V1", "P2", 150)]
    res = solve_round(r)
    v1 = next(a for a in res.assignments if a.volunteer == "V1")
    assert v1.placement == "P2" and v1.breakdown["continuity"] == 150
    assert v1.score == sum(v1.breakdown.values())


def test_a_low_rating_earns_no_bonus() -> None:
    low = DONE_WELL.model_copy(update={"host_rating": 3})
    r = _round(continuity_bonus={"host": 150})
    assert apply_outcomes(r, [low]) is r


def test_skills_mismatch_is_not_repeated() -> None:
    r = apply_outcomes(_round(exclude_skills_mismatch=True), [MISMATCH])
    assert [(f.volunteer, f.placement) for f in r.policy.forbidden] == [("V2", "P1")]
    assert all((a.volunteer, a.placement) != ("V2", "P1") for a in solve_round(r).assignments)


def test_host_reliability_is_the_completion_rate() -> None:
    rel = host_reliability(_round(), [DONE_WELL, MISMATCH])
    assert {h: x.rate for h, x in rel.items()} == {"H1": 0.0, "H2": 1.0}
    assert outcome_kpis(_round(), [DONE_WELL]) == {}
    kpis = outcome_kpis(
        _round(host_reliability_kpi=True), [DONE_WELL, MISMATCH], [("V1", "P2"), ("V2", "P1")]
    )
    assert kpis == {
        "host_reliability": {"H1": 0.0, "H2": 1.0},
        "host_deployments_ended": {"H1": 1, "H2": 1},
        "placed_host_reliability": 0.5,
        "placed_at_rated_hosts": 2,
    }
    kpis = outcome_kpis(_round(host_reliability_kpi=True), [DONE_WELL])
    assert kpis["placed_host_reliability"] is None and kpis["placed_at_rated_hosts"] == 0


def test_solve_with_outcomes_puts_the_reliability_in_the_result_kpis() -> None:
    r = _round(host_reliability_kpi=True, continuity_bonus={"host": 150})
    res = solve_with_outcomes(r, [DONE_WELL, MISMATCH])
    assert res.kpis["host_reliability"] == {"H1": 0.0, "H2": 1.0}
    assert res.kpis["placed_at_rated_hosts"] == len(res.assignments) == 2
    assert res.kpis["placed_host_reliability"] == 0.5
    assert res.objective == solve_round(apply_outcomes(r, [DONE_WELL, MISMATCH])).objective
    plain = solve_with_outcomes(_round(), [DONE_WELL])
    assert "host_reliability" not in plain.kpis


def test_a_bonus_for_an_unknown_pair_is_an_error_naming_it() -> None:
    d = doc([vol("V1")], [plc("P1")], bonus=[{"volunteer": "V9", "placement": "P1", "points": 5}])
    with pytest.raises(InvalidRound, match=r"bonus\[0\]\.volunteer: unknown volunteer id 'V9'"):
        parse_round(d)

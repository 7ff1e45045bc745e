"""The programme budget (`matching.constraints.budget`): it binds, and a lock beyond it
is infeasible with both named."""

from __future__ import annotations

import pytest

from tests.helpers import doc, plc, vol
from tests.matching.rounds import solve_checked as solve
from volmatch.matching import solve_round
from volmatch.models import InfeasibleRound, parse_round


def test_budget_binds_and_prefers_cheaper_countries() -> None:
    d = doc(
        [vol("V1"), vol("V2")],
        [plc("P1", country="NP"), plc("P2", country="KE")],
        budget={"total": 500, "cost": {"NP": 400, "KE": 300}},
    )
    assert len(solve(d).assignments) == 1


def test_lock_beyond_budget_is_infeasible_and_names_both() -> None:
    d = doc(
        [vol("V1")],
        [plc("P1")],
        budget={"total": 100, "cost": {"NP": 400}},
        locked=[{"volunteer": "V1", "placement": "P1"}],
    )
    with pytest.raises(InfeasibleRound) as exc:
        solve_round(parse_round(d))
    assert {c.rule for c in exc.value.conflicts} >= {"locked", "budget"}


def test_budget_alone_feasible_and_infeasible_and_its_array_check_agrees() -> None:
    from tests.matching.rounds import rule_alone
    from volmatch.matching.constraints.budget import add_budget, breaches

    d = doc([vol("A"), vol("B")], [plc("P1", slots=2)], budget={"total": 300, "cost": {"NP": 200}})
    ok, prep, picked, pol = rule_alone(d, add_budget, [("A", "P1")])
    assert ok and not breaches(prep.compiled, prep.pairs, picked, pol)
    ok, prep, picked, pol = rule_alone(d, add_budget, [("A", "P1"), ("B", "P1")])
    assert not ok and breaches(prep.compiled, prep.pairs, picked, pol)

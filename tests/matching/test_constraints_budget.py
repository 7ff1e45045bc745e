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

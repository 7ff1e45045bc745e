"""Re-matching (`matching.constraints.moves`): previous assignments are kept unless a
move pays, at most `max_moves` move, frozen stages hold, and a frozen pair that now
breaks a rule is infeasible."""

from __future__ import annotations

import pytest

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve
from volmatch.matching import solve_round
from volmatch.models import InfeasibleRound, parse_round


def test_rematch_with_nothing_changed_moves_nobody() -> None:
    d = doc([vol(f"V{i}") for i in range(4)], [plc("P1", slots=2), plc("P2", slots=2)])
    first = solve(d)
    # a previous result that is optimal but not the one the solver picks on its own
    swapped = {"P1": "P2", "P2": "P1"}
    d["previous"] = [
        a.model_dump(mode="json") | {"placement": swapped[a.placement]} for a in first.assignments
    ]
    for cost in (0, 100):
        d["policy"] = {"move_cost": cost}
        again = solve(d)
        assert again.moves == []  # type: ignore[attr-defined]
        assert placed(again) == {a["volunteer"]: a["placement"] for a in d["previous"]}
        assert again.objective == first.objective


def test_rematch_keeps_previous_over_a_slightly_better_fit() -> None:
    d = doc(
        [vol("V1", skills={"teaching": 4})],
        [plc("P1", desired_skills={"teaching": 5}), plc("P2", desired_skills={"teaching": 4})],
    )
    d["previous"] = [{"volunteer": "V1", "placement": "P1"}]
    d["policy"] = {"move_cost": 100}
    assert placed(solve(d)) == {"V1": "P1"}
    d["policy"] = {"move_cost": 0}
    result = solve(d)
    assert placed(result) == {"V1": "P2"}
    assert result.moves[0]["from"] == "P1" and result.moves[0]["to"] == "P2"  # type: ignore[attr-defined]


def test_max_moves_and_frozen_stage() -> None:
    vols = [vol("V1", skills={"teaching": 1}), vol("V2", skills={"teaching": 1})]
    pls = [plc("P1"), plc("P2"), plc("P3", desired_skills={"teaching": 1}, slots=2)]
    prev = [
        {"volunteer": "V1", "placement": "P1", "stage": "travel_booked"},
        {"volunteer": "V2", "placement": "P2"},
    ]
    d = doc(vols, pls, move_cost=0, frozen_stages=["travel_booked"])
    d["previous"] = prev
    where = placed(solve(d))
    assert where["V1"] == "P1" and where["V2"] == "P3"
    d["policy"]["max_moves"] = 0
    assert placed(solve(d)) == {"V1": "P1", "V2": "P2"}


def test_frozen_pair_that_breaks_a_rule_now_is_infeasible() -> None:
    d = doc(
        [vol("V1", security_clearance=0)], [plc("P1", security_level=2)], frozen_stages=["visa"]
    )
    d["previous"] = [{"volunteer": "V1", "placement": "P1", "stage": "visa"}]
    with pytest.raises(InfeasibleRound) as exc:
        solve_round(parse_round(d))
    assert exc.value.conflicts[0].rule == "frozen_stages"


def test_move_limit_alone_feasible_and_infeasible_and_its_array_check_agrees() -> None:
    import numpy as np

    from tests.matching.rounds import rule_alone
    from volmatch.matching.constraints.base import RuleContext
    from volmatch.matching.constraints.moves import add_moves, breaches, moves_hold
    from volmatch.matching.previous import previous_pairs

    d = doc([vol("A"), vol("B")], [plc("P1"), plc("P2", host="H2")], max_moves=1)
    d["previous"] = [{"volunteer": "A", "placement": "P1"}, {"volunteer": "B", "placement": "P2"}]

    def add(ctx: RuleContext) -> None:
        prev = previous_pairs(ctx.compiled, ctx.pairs)
        add_moves(ctx, prev)  # every pair is modelled: positions are the pairs' own

    ok, prep, picked, pol = rule_alone(d, add, [("A", "P2")])  # one move (A), B left: two
    prev = previous_pairs(prep.compiled, prep.pairs)
    at = (prep.pairs.p, prep.compiled.capacity)
    assert not ok and breaches(prev, picked, pol, *at)
    ok, prep, picked, pol = rule_alone(d, add, [("A", "P1")])  # B may stay: one move at most
    assert ok and not breaches(prev, picked, pol, *at)  # A kept, B unplaced: one move
    assert not breaches(prev, np.array(sorted(prev.values()), dtype=np.intp), pol, *at)
    assert moves_hold(1, 2, pol) and not moves_hold(0, 2, pol)

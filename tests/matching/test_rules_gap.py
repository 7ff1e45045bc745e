"""Which rule the gap is in (`matching.rules.gap`): the rule whose relaxation moves the
bound most, and the rules the bound leaves out."""

from __future__ import annotations

import numpy as np

from tests.helpers import doc, plc, vol
from volmatch.matching import solve_round
from volmatch.matching.prepared import prepare
from volmatch.matching.rules.gap import bound_moves
from volmatch.models import parse_round

NONE = np.zeros(0, dtype=np.intp)


def test_a_tight_nationality_cap_is_the_rule_that_moves_the_bound() -> None:
    vols = [vol(f"V{i}", skills={"teaching": 5}) for i in range(4)] + [vol("K1", nationality="KE")]
    d = doc(
        vols,
        [plc("P1", slots=4, host="H1"), plc("P2", host="H2")],
        max_same_nationality_per_placement=1,
        max_per_host=4,
    )
    r = parse_round(d)
    got = bound_moves(prepare(r), r.policy, NONE, NONE, 0)
    assert got["rule"] == "nationality_per_placement"
    assert got["bound_moves"]["nationality_per_placement"] > 0
    assert got["bound_moves"]["max_per_host"] == 0
    assert got["left_out"] == []


def test_rules_the_bound_leaves_out_are_listed_and_move_nothing() -> None:
    vols = [vol(f"V{i}") for i in range(3)]
    d = doc(
        vols,
        [plc("P1", slots=3)],
        max_nationality_share_per_country=0.5,
        objective=["urgent_coverage", "score"],
    )
    r = parse_round(d)
    got = bound_moves(prepare(r), r.policy, NONE, NONE, 0)
    assert got["rule"] is None
    assert got["bound_moves"] == {}
    assert got["left_out"] == ["nationality_share", "objective"]


def test_the_result_says_feasible_or_optimal_with_its_gap_and_the_gap_rule() -> None:
    vols = [vol(f"V{i}", skills={"teaching": 5}) for i in range(4)]
    d = doc(vols, [plc("P1", slots=4)], max_same_nationality_per_placement=2, rule_costs=True)
    result = solve_round(parse_round(d))
    solver = result.solver  # type: ignore[attr-defined]
    assert solver["gap"] == (result.bound - result.objective) / result.bound
    assert solver["gap_rule"]["rule"] == "nationality_per_placement"
    assert result.status in ("optimal", "feasible")

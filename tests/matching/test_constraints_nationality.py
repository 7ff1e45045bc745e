"""The nationality mix (`matching.constraints.nationality`): the cap per placement and
the share per host country bind."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve


def test_nationality_cap_per_placement_binds() -> None:
    d = doc(
        [vol(f"V{i}") for i in range(3)] + [vol("V9", nationality="KE", skills={})],
        [plc("P1", slots=3, desired_skills={"teaching": 3})],
        max_same_nationality_per_placement=2,
    )
    result = solve(d)
    assert sorted(placed(result)) in (["V0", "V1", "V9"], ["V0", "V2", "V9"], ["V1", "V2", "V9"])
    assert result.rules["costs"]["nationality_per_placement"] > 0  # type: ignore[attr-defined]


def test_nationality_share_per_country_binds() -> None:
    d = doc(
        [vol(f"V{i}") for i in range(4)] + [vol("V9", nationality="KE")],
        [plc("P1", slots=5)],
        max_nationality_share_per_country=0.5,
        nationality_share_allowance=0,
    )
    result = solve(d)
    nats = [p for v, p in placed(result).items() if v != "V9"]
    assert len(nats) == 1 and "V9" in placed(result)


def test_cap_alone_feasible_and_infeasible_and_its_array_check_agrees() -> None:
    from tests.matching.rounds import rule_alone
    from volmatch.matching.constraints.nationality import (
        add_nationality_per_placement,
        cap_holds,
        placement_breaches,
    )

    d = doc(
        [vol("A"), vol("B"), vol("C", nationality="KE")],
        [plc("P1", slots=3)],
        max_same_nationality_per_placement=1,
    )
    ok, prep, picked, pol = rule_alone(d, add_nationality_per_placement, [("A", "P1"), ("C", "P1")])
    assert ok and placement_breaches(prep.compiled, prep.pairs, picked, pol) == []
    ok, prep, picked, pol = rule_alone(d, add_nationality_per_placement, [("A", "P1"), ("B", "P1")])
    assert not ok
    cn = prep.compiled.countries.index("CN")
    assert placement_breaches(prep.compiled, prep.pairs, picked, pol) == [(0, cn)]
    assert cap_holds(1, pol) and not cap_holds(2, pol)


def test_share_alone_feasible_and_infeasible_and_its_array_check_agrees() -> None:
    from tests.matching.rounds import rule_alone
    from volmatch.matching.constraints.nationality import add_nationality_share, share_breaches

    d = doc(
        [vol("A"), vol("B"), vol("C", nationality="KE")],
        [plc("P1", slots=3)],
        max_nationality_share_per_country=0.5,
        nationality_share_allowance=0,
    )
    ok, prep, picked, pol = rule_alone(d, add_nationality_share, [("A", "P1"), ("C", "P1")])
    assert ok and share_breaches(prep.compiled, prep.pairs, picked, pol) == []
    ok, prep, picked, pol = rule_alone(d, add_nationality_share, [("A", "P1"), ("B", "P1")])
    assert not ok and share_breaches(prep.compiled, prep.pairs, picked, pol)

"""The cap per host partner (`matching.constraints.hosts`)."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve


def test_max_per_host_binds() -> None:
    d = doc(
        [vol(f"V{i}") for i in range(3)],
        [plc("P1", slots=2), plc("P2", slots=2), plc("P3", host="H2")],
        max_per_host=1,
    )
    where = placed(solve(d))
    assert len(where) == 2 and {"P3"} <= set(where.values())


def test_host_cap_alone_feasible_and_infeasible_and_its_array_check_agrees() -> None:
    from tests.matching.rounds import rule_alone
    from volmatch.matching.constraints.hosts import add_max_per_host, breaches, cap_holds

    d = doc([vol("A"), vol("B")], [plc("P1"), plc("P2"), plc("P3", host="H2")], max_per_host=1)
    ok, prep, picked, pol = rule_alone(d, add_max_per_host, [("A", "P1"), ("B", "P3")])
    assert ok and breaches(prep.compiled, prep.pairs, picked, pol) == []
    ok, prep, picked, pol = rule_alone(d, add_max_per_host, [("A", "P1"), ("B", "P2")])
    assert not ok
    assert breaches(prep.compiled, prep.pairs, picked, pol) == [prep.compiled.hosts.index("H1")]
    assert cap_holds(1, pol) and not cap_holds(2, pol)

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

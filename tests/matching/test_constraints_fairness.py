"""Fairness (`matching.constraints.fairness`): the fairness tier raises the worst-served
nationality."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve


def test_fairness_tier_raises_the_worst_served_nationality() -> None:
    # Two KE volunteers score a little lower; score alone places the three CN
    vols = [vol(f"C{i}", skills={"teaching": 5}) for i in range(3)] + [
        vol("K1", nationality="KE", skills={"teaching": 4}),
    ]
    pls = [plc("P1", slots=3, desired_skills={"teaching": 5})]
    by_score = placed(solve(doc(vols, pls)))
    assert "K1" not in by_score
    fair = solve(doc(vols, pls, objective=["fairness", "score"]))
    assert "K1" in placed(fair)
    assert fair.tiers["fairness"]["value"] > 0  # type: ignore[attr-defined]

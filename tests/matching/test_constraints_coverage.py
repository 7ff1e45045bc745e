"""Urgent needs (`matching.constraints.coverage`): `min_fill` fills urgent placements
first and reports those no pool can fill; urgent coverage as a tier before score."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve


def test_min_fill_covers_the_urgent_need_first() -> None:
    vols = [
        vol("V1", skills={"teaching": 5}),
        vol("V2", training=["pre-deployment"], languages={"en": "A2"}),
    ]
    pls = [
        plc("P1", priority=5, required_languages={"en": "B1"}, desired_skills={"health": 3}),
        plc("P2", priority=1, slots=2, desired_skills={"teaching": 5}),
    ]
    d = doc(vols, pls, weights={"priority": 0})
    assert placed(solve(d))["V1"] == "P2"
    d["policy"]["min_fill"] = {5: 1}
    assert placed(solve(d))["V1"] == "P1"


def test_min_fill_no_pool_can_meet_is_reported() -> None:
    d = doc(
        [vol("V1")],
        [plc("P1", priority=5, required_languages={"fr": "C1"}), plc("P2")],
        min_fill={5: 1},
    )
    result = solve(d)
    short = result.rules["min_fill"]["short"]  # type: ignore[attr-defined]
    assert short == [{"placement": "P1", "priority": 5, "needed": 1, "got": 0}]
    assert placed(result) == {"V1": "P2"}


def test_urgent_coverage_tier_comes_before_score() -> None:
    vols = [vol("V1", skills={"teaching": 5})]
    pls = [
        plc("P1", priority=4, desired_skills={"health": 3}),
        plc("P2", priority=1, desired_skills={"teaching": 5}),
    ]
    d = doc(vols, pls, weights={"priority": 0})
    assert placed(solve(d)) == {"V1": "P2"}
    d["policy"]["objective"] = ["urgent_coverage", "score"]
    assert placed(solve(d)) == {"V1": "P1"}

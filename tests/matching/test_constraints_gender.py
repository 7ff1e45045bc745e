"""Gender balance (`matching.constraints.gender`), a soft rule: it prefers a mixed team,
and where the pool offers no mix it costs nothing."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from tests.matching.rounds import placed
from tests.matching.rounds import solve_checked as solve


def test_gender_balance_prefers_a_mixed_team() -> None:
    vols = [
        vol("F1", gender="female", skills={"teaching": 5}),
        vol("F2", gender="female", skills={"teaching": 5}),
        vol("M1", gender="male", skills={"teaching": 4}),
    ]
    pls = [plc("P1", slots=2, desired_skills={"teaching": 5})]
    assert set(placed(solve(doc(vols, pls)))) == {"F1", "F2"}
    result = solve(doc(vols, pls, gender_balance=True))
    assert "M1" in placed(result)
    assert result.rules["gender_balance"]["penalty"] == 0  # type: ignore[attr-defined]


def test_gender_balance_that_cannot_hold_is_a_named_penalty() -> None:
    vols = [
        vol("F1", gender="female"),
        vol("F2", gender="female"),
        vol("M1", gender="male", training=[]),
    ]
    result = solve(doc(vols, [plc("P1", slots=2)], gender_balance=True))
    # the pool of P1 offers no eligible man: the rule does not apply, no penalty
    assert result.rules["gender_balance"]["penalty"] == 0  # type: ignore[attr-defined]
    assert set(placed(result)) == {"F1", "F2"}

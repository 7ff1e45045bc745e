"""Key figures of a result (`matching.kpis`) on a hand-made round with known values."""

from __future__ import annotations

from tests.helpers import doc, plc, vol
from volmatch.matching import solve_round
from volmatch.models import parse_round


def test_kpis_of_a_small_round() -> None:
    result = solve_round(
        parse_round(
            doc(
                [
                    vol("V1", skills={"teaching": 5}),
                    vol("V2", skills={"teaching": 3}, nationality="KE", gender="male"),
                    vol("V3", training=[]),
                ],
                [
                    plc("P1", desired_skills={"teaching": 5}, priority=5),
                    plc("P2", priority=2, slots=2),
                ],
            )
        )
    )
    assert {(a.volunteer, a.placement, a.score) for a in result.assignments} == {
        ("V1", "P1", 1200),
        ("V2", "P2", 1050),
    }
    assert result.kpis == {
        "volunteers": 3,
        "volunteers_matched": 2,
        "match_rate": 0.6667,
        "placements": 2,
        "slots": 3,
        "slots_filled": 2,
        "fill_rate": 0.6667,
        "urgent_slots": 1,
        "urgent_slots_filled": 1,
        "urgent_fill_rate": 1.0,
        "slots_by_priority": {"5": {"slots": 1, "filled": 1}, "2": {"slots": 2, "filled": 1}},
        "placements_fully_open": 0,
        "mean_score": 1125.0,
        "mean_preference_rank": None,
        "matched_with_a_preference": 0,
        "matched_who_stated_preferences": 0,
        "match_rate_by_nationality": {"CN": 0.5, "KE": 1.0},
        "match_rate_by_gender": {"male": 1.0, "undisclosed": 0.5},
        "eligible_pairs": 4,
    }

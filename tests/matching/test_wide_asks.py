"""A placement asking more skills than the limits allow (one stored before the limits,
or built in code) is still matched exactly: eligibility has no width limit of its own."""

from __future__ import annotations

import pytest

from tests.helpers import doc, plc, vol
from volmatch.matching import solve_round, validate_result
from volmatch.models import Placement, Round, Volunteer, parse_round

WIDE = 200
"""Skills asked: beyond `models.limits.MAX_SKILLS`, where packed keys once overflowed."""


def _wide_round() -> Round:
    base = parse_round(doc([vol(f"V{i}") for i in range(4)], [plc("P1", slots=3), plc("P2")]))
    have = {f"skill-{i}": 2 for i in range(WIDE)}
    # model_copy skips validation: the records hold more skills than a document may.
    vols = [
        v.model_copy(update={"skills": have}) if v.id in ("V0", "V1") else v
        for v in base.volunteers
    ]
    asks = {"P1": have, "P2": {f"skill-{i}": 3 for i in range(WIDE)}}
    pls = [p.model_copy(update={"required_skills": asks[p.id]}) for p in base.placements]
    return base.model_copy(update={"volunteers": tuple(vols), "placements": tuple(pls)})


@pytest.mark.parametrize("mode", ["optimal", "stable"])
def test_a_placement_asking_200_skills_is_matched_exactly(mode: str) -> None:
    r = _wide_round()
    assert isinstance(r.volunteers[0], Volunteer) and isinstance(r.placements[0], Placement)
    result = solve_round(r, mode=mode)  # type: ignore[arg-type]
    assert validate_result(r, result) == []
    assert sorted((a.volunteer, a.placement) for a in result.assignments) == [
        ("V0", "P1"),
        ("V1", "P1"),
    ]
    assert {o.placement for o in result.open_slots} == {"P1", "P2"}

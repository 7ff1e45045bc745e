"""The "My needs" counts (`need_counts.eligible_counts`: the core's eligible pairs)
equal the live line's (`feasibility`: every rule checked on every volunteer) on a
generated pool."""

from __future__ import annotations

from benchmarks.generate import generate_round
from volmatch.api.service.feasibility import feasibility
from volmatch.api.service.need_counts import eligible_counts
from volmatch.models import Placement, Volunteer


def test_the_counts_are_the_live_lines() -> None:
    doc = generate_round(400, 60, seed=3)
    pool = [Volunteer.model_validate({k: v for k, v in d.items() if k != "preferences"})
            for d in doc["volunteers"]]
    needs = [Placement.model_validate(p) for p in doc["placements"]]
    counts = eligible_counts(pool, needs)
    assert counts == {f.placement: f.eligible for f in feasibility(pool, needs)}
    assert sum(counts.values()) > 0 and len(counts) == 60
    assert eligible_counts([], needs[:2]) == {needs[0].id: 0, needs[1].id: 0}
    assert eligible_counts(pool, []) == {}

"""The pure round (`matching.pure`): the min-cost flow is the true optimum, leaves no
slot open that an unplaced eligible volunteer could take, and keeps an unchanged
previous assignment whole."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from scipy.optimize import linear_sum_assignment

from tests.strategies import round_docs
from volmatch.matching import prepare, solve_round
from volmatch.matching.validate import pair_violations
from volmatch.models import parse_round


@given(round_docs(max_volunteers=8, max_placements=5))
def test_objective_equals_independent_optimum(doc: dict[str, Any]) -> None:
    r = parse_round(doc)
    prep = prepare(r)
    c = prep.compiled
    slots = [pi for pi in range(c.n_placements) for _ in range(int(c.capacity[pi]))]
    weight = np.zeros((c.n_volunteers, max(len(slots), 1)), dtype=np.int64)
    score = {
        (int(v), int(p)): int(s)
        for v, p, s in zip(prep.pairs.v, prep.pairs.p, prep.scores.total, strict=True)
    }
    for vi in range(c.n_volunteers):
        for j, pi in enumerate(slots):
            weight[vi, j] = score.get((vi, pi), 0)
    rows, cols = linear_sum_assignment(weight, maximize=True)
    assert solve_round(r).objective == int(weight[rows, cols].sum())


@given(round_docs())
def test_no_open_slot_an_unplaced_eligible_volunteer_could_take(doc: dict[str, Any]) -> None:
    r = parse_round(doc)
    result = solve_round(r)
    placed = {a.volunteer for a in result.assignments}
    open_ids = {o.placement for o in result.open_slots}
    vols = {v.id: v for v in r.volunteers}
    for p in r.placements:
        if p.id not in open_ids:
            continue
        for vid, v in vols.items():
            if vid not in placed:
                assert pair_violations(r, v, p), f"{vid} could fill {p.id}"
    for u in result.unmatched_volunteers:
        assert u.reasons and all(isinstance(x, str) and x for x in u.reasons)


@given(round_docs())
def test_rematching_an_unchanged_round_moves_nobody_and_keeps_the_optimum(
    doc: dict[str, Any],
) -> None:
    r = parse_round(doc)
    first = solve_round(r)
    again_doc = dict(doc) | {"previous": [a.model_dump(mode="json") for a in first.assignments]}
    again = solve_round(parse_round(again_doc))
    assert getattr(again, "moves", []) == []
    assert again.objective == first.objective and again.status == "optimal"

"""Properties of the pure round over random documents: valid, capacity-respecting,
deterministic, order-independent and truly optimal."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from hypothesis import given
from scipy.optimize import linear_sum_assignment

from tests.strategies import round_docs
from volmatch.matching import (
    compile_round,
    dense_pairs,
    find_pairs,
    prepare,
    solve_round,
    validate_result,
)
from volmatch.matching.validate import pair_violations
from volmatch.models import parse_round


def _strip_stats(result: Any) -> dict[str, Any]:
    d = result.model_dump(mode="json")
    d.pop("stats")
    return d


@given(round_docs())
def test_result_breaks_no_rule_and_fills_no_slot_twice(doc: dict[str, Any]) -> None:
    r = parse_round(doc)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert result.status == "optimal"
    assert result.objective == sum(a.score for a in result.assignments) == result.bound


@given(round_docs())
def test_bitset_eligibility_equals_rule_by_rule_check(doc: dict[str, Any]) -> None:
    r = parse_round(doc)
    c = compile_round(r)
    fast, dense = find_pairs(c), dense_pairs(c)
    assert np.array_equal(fast.v, dense.v) and np.array_equal(fast.p, dense.p)
    assert np.array_equal(fast.start, dense.start)
    assert np.array_equal(fast.months, dense.months)
    # and both agree with the independent plain-Python rules
    eligible = {(int(v), int(p)) for v, p in zip(fast.v, fast.p, strict=True)}
    for vi, v in enumerate(c.volunteers):
        for pi, p in enumerate(c.placements):
            assert ((vi, pi) in eligible) == (pair_violations(r, v, p) == [])


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
def test_same_input_same_result_and_row_order_does_not_matter(doc: dict[str, Any]) -> None:
    r = parse_round(doc)
    first = _strip_stats(solve_round(r))
    assert _strip_stats(solve_round(r)) == first
    shuffled = dict(doc)
    rng = random.Random(7)
    shuffled["volunteers"] = rng.sample(doc["volunteers"], len(doc["volunteers"]))
    shuffled["placements"] = rng.sample(doc["placements"], len(doc["placements"]))
    assert _strip_stats(solve_round(parse_round(shuffled))) == first


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

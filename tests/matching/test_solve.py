"""A round end to end (`matching.solve`): over random documents the result is valid,
capacity-respecting, deterministic and independent of the documents' row order."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given

from tests.strategies import round_docs
from volmatch.matching import solve_round, validate_result
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
def test_same_input_same_result_and_row_order_does_not_matter(doc: dict[str, Any]) -> None:
    r = parse_round(doc)
    first = _strip_stats(solve_round(r))
    assert _strip_stats(solve_round(r)) == first
    shuffled = dict(doc)
    rng = random.Random(7)
    shuffled["volunteers"] = rng.sample(doc["volunteers"], len(doc["volunteers"]))
    shuffled["placements"] = rng.sample(doc["placements"], len(doc["placements"]))
    assert _strip_stats(solve_round(parse_round(shuffled))) == first

"""Rounds with policy rules (`matching.rules.solver`) over random documents: no rule is
ever broken, a lower tier never worsens a higher one, and solves repeat."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from tests.strategies import ruled_docs
from volmatch.matching import solve_round, validate_result
from volmatch.matching.validate import rule_violations
from volmatch.models import parse_round


@settings(max_examples=40)
@given(ruled_docs())
def test_random_rounds_with_rules_break_none(d: dict[str, Any]) -> None:
    r = parse_round(d)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    assert result.objective <= result.bound


@settings(max_examples=25)
@given(ruled_docs())
def test_adding_a_lower_tier_never_worsens_a_higher_one(d: dict[str, Any]) -> None:
    d["policy"]["objective"] = ["urgent_coverage"]
    alone = solve_round(parse_round(d))
    d["policy"]["objective"] = ["urgent_coverage", "score"]
    both = solve_round(parse_round(d))
    assert both.tiers["urgent_coverage"]["value"] >= alone.tiers["urgent_coverage"]["value"]  # type: ignore[attr-defined]


@settings(max_examples=20)
@given(ruled_docs())
def test_rules_are_deterministic(d: dict[str, Any]) -> None:
    a = solve_round(parse_round(d)).model_dump(mode="json", exclude={"stats", "solver"})
    b = solve_round(parse_round(d)).model_dump(mode="json", exclude={"stats", "solver"})
    a.get("solver", {}).pop("seconds", None)
    b.get("solver", {}).pop("seconds", None)
    assert a == b

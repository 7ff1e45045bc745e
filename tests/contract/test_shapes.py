"""Generated rounds of every shape the contract allows, through the Python API: no crash,
the hard rules kept, the optimum and the stable matching found, exact costs, the same
result for the same document and seed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract.checks import (
    check_audit,
    check_details,
    check_hard_rule_costs,
    check_hard_rules,
    check_optimal,
    check_policy_rules,
    check_reserves,
    check_stable,
    same_result,
)
from tests.contract.oracle import Round, best_under_rules, eligible_pairs
from tests.contract.shapes import RULES, SHAPES, pure_rounds, ruled_rounds, tiny_ruled_rounds
from volmatch.matching import solve_round
from volmatch.models import InfeasibleRound, parse_round


def _solve(doc: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return solve_round(parse_round(doc), **kw).model_dump(mode="json")


@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=8)
@given(data=st.data())
def test_pure_rounds_are_optimal_with_exact_costs(shape: str, data: st.DataObject) -> None:
    doc = data.draw(pure_rounds(shape))
    res = _solve(doc, reserves=3)
    check_hard_rules(doc, res)
    check_details(doc, res)
    check_optimal(doc, res)
    check_reserves(doc, res, 3)
    assert same_result(res, _solve(doc, reserves=3))


@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=6)
@given(data=st.data())
def test_stable_rounds_are_volunteer_optimal(shape: str, data: st.DataObject) -> None:
    doc = data.draw(pure_rounds(shape))
    doc.setdefault("policy", {}).pop("locked", None)
    res = _solve(doc, mode="stable", audit=True)
    assert res["mode"] == "stable"
    check_hard_rules(doc, res)
    check_details(doc, res)
    check_stable(doc, res)
    check_hard_rule_costs(doc, res)
    check_audit(doc, res)


@settings(max_examples=20)
@given(doc=pure_rounds("crowded"))
def test_the_audit_of_an_optimal_round_counts_its_blocking_pairs(doc: dict[str, Any]) -> None:
    doc.setdefault("policy", {}).pop("locked", None)
    check_audit(doc, _solve(doc, audit=True))


@pytest.mark.parametrize("rule", RULES)
@settings(max_examples=5)
@given(data=st.data())
def test_ruled_rounds_keep_the_hard_rules(rule: str, data: st.DataObject) -> None:
    doc = data.draw(ruled_rounds(rule))
    try:
        res = _solve(doc)
    except InfeasibleRound as exc:
        assert exc.conflicts and all(c.message for c in exc.conflicts)
        return
    check_hard_rules(doc, res)
    check_details(doc, res)
    if not res.get("conflicts"):
        check_policy_rules(doc, res)


@settings(max_examples=10)
@given(doc=pure_rounds("locks"))
def test_stable_rounds_keep_their_locks(doc: dict[str, Any]) -> None:
    res = _solve(doc, mode="stable", audit=True)
    check_hard_rules(doc, res)
    assert same_result(res, _solve(doc, mode="stable", audit=True))


@settings(max_examples=25)
@given(doc=tiny_ruled_rounds())
def test_ruled_rounds_reach_the_brute_force_optimum(doc: dict[str, Any]) -> None:
    r = Round.of(doc)
    best = best_under_rules(r, eligible_pairs(r), doc.get("previous", []))
    try:
        res = _solve(doc)
    except InfeasibleRound:
        assert best is None
        return
    check_hard_rules(doc, res)
    if res.get("conflicts"):
        return
    check_policy_rules(doc, res)
    if res["status"] == "optimal":
        assert res["objective"] == best

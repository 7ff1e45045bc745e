"""Generated rounds of every shape the contract allows, through the Python API: no crash,
the hard rules kept, the optimum and the stable matching found, exact costs, the same
result for the same document and seed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.contract.checks import (
    check_hard_rule_costs,
    check_hard_rules,
    check_optimal,
    check_policy_rules,
    check_stable,
    same_result,
)
from tests.contract.shapes import RULES, SHAPES, pure_rounds, ruled_rounds
from volmatch.matching import solve_round
from volmatch.models import InfeasibleRound, parse_round


def _solve(doc: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return solve_round(parse_round(doc), **kw).model_dump(mode="json")


@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=8)
@given(data=st.data())
def test_pure_rounds_are_optimal_with_exact_costs(shape: str, data: st.DataObject) -> None:
    doc = data.draw(pure_rounds(shape))
    res = _solve(doc)
    check_hard_rules(doc, res)
    check_optimal(doc, res)
    assert same_result(res, _solve(doc))


@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=6)
@given(data=st.data())
def test_stable_rounds_are_volunteer_optimal(shape: str, data: st.DataObject) -> None:
    doc = data.draw(pure_rounds(shape))
    doc.setdefault("policy", {}).pop("locked", None)
    res = _solve(doc, mode="stable")
    assert res["mode"] == "stable"
    check_hard_rules(doc, res)
    check_stable(doc, res)
    check_hard_rule_costs(doc, res)


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
    if not res.get("conflicts"):
        check_policy_rules(doc, res)


@settings(max_examples=10)
@given(doc=pure_rounds("locks"))
def test_stable_rounds_keep_their_locks(doc: dict[str, Any]) -> None:
    res = _solve(doc, mode="stable", audit=True)
    check_hard_rules(doc, res)
    assert same_result(res, _solve(doc, mode="stable", audit=True))

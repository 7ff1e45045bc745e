"""The stability audit (`matching.stable.audit` over `matching.stable.stability`):
blocking pairs of any result and the price of stability, against the independent
checker."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings

from tests.matching.stable_oracle import (
    blocking_pairs,
    build_lists,
)
from tests.matching.stable_rounds import doc, matching_of
from tests.strategies import round_docs
from volmatch.matching.prepared import prepare
from volmatch.matching.pure import solve_pure
from volmatch.matching.stable import LIST_CAP, solve_stable, stability_audit
from volmatch.models import parse_round


def _costly_round() -> dict[str, Any]:
    # Both like P1 best; P1 prefers A, but B has no other option: the optimum sends A to
    # P2 and B to P1 (both placed), the stable matching keeps A at P1 and leaves B out.
    return (
        doc(
            [{"id": "A", "preferences": ["P1", "P2"]}, {"id": "B", "preferences": ["P1"]}],
            [
                {"id": "P1", "ranking": ["A", "B"]},
                {"id": "P2", "country": "NP", "required_skills": {"ict": 1}},
            ],
        )
        | {}
    )


def test_audit_counts_blocking_pairs_of_an_optimal_result_and_the_price() -> None:
    d = _costly_round()
    d["volunteers"][0]["skills"] = {"ict": 2}
    d["policy"]["mode"] = "optimal"
    r = parse_round(d)
    prep = prepare(r)
    opt = solve_pure(prep)
    audit = stability_audit(prep, opt)
    assert matching_of(prep, opt.chosen) == {"A": "P2", "B": "P1"}
    assert audit["blocking_pairs"] == 1
    assert audit["blocking_volunteer_ids"] == ["A"]
    assert audit["blocking_placement_ids"] == ["P1"]
    assert audit["stable"] is False
    stable = solve_stable(prep)
    assert audit["optimal_objective"] == opt.objective
    assert audit["stable_objective"] == stable.objective
    assert audit["price_of_stability"] == opt.objective - stable.objective > 0
    assert audit["optimal_placed"] == 2 and audit["stable_placed"] == 1


@settings(max_examples=30)
@given(round_docs(max_volunteers=10, max_placements=5))
def test_audit_agrees_with_the_independent_checker(d: dict[str, Any]) -> None:
    r = parse_round(d)
    prep = prepare(r)
    L = build_lists(r, prep)
    for sol in (solve_pure(prep), solve_stable(prep)):
        audit = stability_audit(prep, sol)
        bp = blocking_pairs(L, matching_of(prep, sol.chosen))
        assert audit["blocking_pairs"] == len(bp)
        assert audit["blocking_volunteers"] == len({v for v, _ in bp})
        assert audit["blocking_volunteer_ids"] == sorted({v for v, _ in bp})[:LIST_CAP]
        assert audit["price_of_stability"] >= 0
        assert sol.bound >= audit["optimal_objective"] >= sol.objective


def test_solve_round_in_stable_mode_with_audit_via_the_cli(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from volmatch.api.cli import app

    d = _costly_round()
    d["volunteers"][0]["skills"] = {"ict": 2}
    path = tmp_path / "round.json"
    path.write_text(json.dumps(d))
    out = tmp_path / "result.json"
    res = CliRunner().invoke(app, ["solve", str(path), "--audit", "--out", str(out)])
    assert res.exit_code == 0, res.output
    result = json.loads(out.read_text())
    assert result["mode"] == "stable" and result["status"] == "feasible"
    assert result["stable"]["stable"] is True
    assert result["stability"]["blocking_pairs"] == 0
    assert result["stability"]["price_of_stability"] > 0
    # the audit tightens the bound to the min-cost-flow optimum
    assert result["bound"] == result["stability"]["optimal_objective"]
    assert [a["volunteer"] for a in result["assignments"]] == ["A"]

"""Rounds solved for the matching tests: a solve checked by the independent validators,
and a round's proven optimum to compare bounds with."""

from __future__ import annotations

from typing import Any

from volmatch.matching import solve_round, validate_result
from volmatch.matching.validate import rule_violations
from volmatch.models import Result, Round, parse_round


def solve_checked(d: dict[str, Any]) -> Result:
    """Solve a round document; its result breaks no hard rule and no policy rule."""
    r = parse_round(d)
    result = solve_round(r)
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    return result


def placed(result: Result) -> dict[str, str]:
    """Volunteer id -> placement id of a result."""
    return {a.volunteer: a.placement for a in result.assignments}


def proven_score_round(d: dict[str, Any], pen: int, gender: bool) -> tuple[Round, Result] | None:
    """The round scored on one tier with the given gender rule, and its result when
    that result is proven optimal (None otherwise: nothing to compare a bound with)."""
    pol = d["policy"]
    pol["objective"] = ["score"]
    pol.pop("min_fill", None)
    pol["gender_balance"] = gender
    pol["gender_balance_penalty"] = pen
    r = parse_round(d)
    result = solve_round(r)
    tiers = getattr(result, "tiers", None)
    proven = result.status == "optimal" if tiers is None else tiers.get("score", {}).get("optimal")
    return (r, result) if proven else None


def every_rule(d: dict[str, Any], limit: float) -> dict[str, Any]:
    """Every policy rule on, a budget that binds, urgent coverage before score."""
    countries = sorted({p["country"] for p in d["placements"]})
    pol = d.setdefault("policy", {})
    pol.update(
        {
            "max_same_nationality_per_placement": 2,
            "max_nationality_share_per_country": 0.6,
            "nationality_share_allowance": 2,
            "gender_balance": True,
            "min_fill": {5: 1},
            "max_per_host": 6,
            "budget": {
                "total": 60_000,
                "cost": {c: 1000 + 100 * i for i, c in enumerate(countries)},
            },
            "objective": ["urgent_coverage", "score"],
            "time_limit_s": limit,
            "rule_costs": False,
        }
    )
    return d


def rule_alone(
    d: dict[str, Any], add: Any, force: list[tuple[str, str]]
) -> tuple[bool, Any, Any, Any]:
    """One rule module alone on a CP-SAT model of every eligible pair (one placement
    per volunteer and slots too), the pairs `force` (volunteer id, placement id)
    chosen: whether the model is feasible (CP-SAT) and the assignment `force` made
    of the pairs, for the rule's own array check."""
    import numpy as np
    from ortools.sat.python import cp_model

    from volmatch.matching.constraints import add_assignment
    from volmatch.matching.constraints.base import PairVars, RuleContext
    from volmatch.matching.prepared import prepare

    r = parse_round(d)
    prep = prepare(r)
    c, pairs = prep.compiled, prep.pairs
    model = cp_model.CpModel()
    n = len(pairs)
    x = [model.new_bool_var(f"x{i}") for i in range(n)]
    pv = PairVars(np.arange(n), pairs.v, pairs.p, prep.scores.total, x)
    ctx = RuleContext(model, pv, c, pairs, prep.scores, r.policy)
    add_assignment(ctx, np.zeros(0, dtype=np.intp))
    add(ctx)
    for lit in ctx.enforce.values():
        model.add(lit == 1)
    picked = []
    for vid, pid in force:
        at = np.flatnonzero((pairs.v == c.vindex[vid]) & (pairs.p == c.pindex[pid]))
        assert len(at) == 1, (vid, pid)
        model.add(x[int(at[0])] == 1)
        picked.append(int(at[0]))
    status = cp_model.CpSolver().solve(model)
    ok = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return ok, prep, np.array(sorted(picked), dtype=np.intp), r.policy


def local_start(d: dict[str, Any], start: list[tuple[str, str]]) -> tuple[Round, Any, Any, Any]:
    """A hand-made round and start for the local neighbourhoods of
    `matching.rules`: (round, prepared round, `Local`, the start's pairs)."""
    import numpy as np

    from volmatch.matching.prepared import prepare
    from volmatch.matching.previous import pair_index
    from volmatch.matching.rules.evaluate import Evaluator
    from volmatch.matching.rules.local import Local

    r = parse_round(d)
    prep = prepare(r)
    c = prep.compiled
    v = np.array([c.vindex[a] for a, _ in start], dtype=np.int64)
    p = np.array([c.pindex[b] for _, b in start], dtype=np.int64)
    picked = np.sort(pair_index(c, prep.pairs, v, p))
    assert (picked >= 0).all(), "the start holds a pair that is not eligible"
    local = Local(prep, r.policy, Evaluator(prep, r.policy, {}), np.zeros(0, dtype=np.intp))
    assert local.ev.breaches(picked, local.locked) == [], "the start must keep every rule"
    return r, prep, local, picked


def checked_assignment(r: Round, prep: Any, picked: Any) -> dict[str, str]:
    """The pairs `picked` as a result, checked by the independent validators (hard
    rules and policy rules); volunteer id -> placement id."""
    from volmatch.matching.prepared import Solution
    from volmatch.matching.to_result import build_result

    total = int(prep.scores.total[picked].sum())
    result = build_result(prep, Solution(picked, "feasible", total, total), "optimal")
    assert validate_result(r, result) == []
    assert rule_violations(r, result) == []
    return placed(result)

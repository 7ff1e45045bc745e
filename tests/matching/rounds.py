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

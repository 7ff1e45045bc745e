"""Rounds with every policy rule switched on: time, objective and gap to the bound.

    python -m benchmarks.rules_bench                 # 1,000 x 200 and 10,000 x 2,000
    python -m benchmarks.rules_bench --full          # adds 50,000 x 10,000
    python -m benchmarks.rules_bench --huge          # adds 100,000 x 20,000

Each size: a generated round (groups included), solved once without the rules (the
min-cost-flow optimum, whose total is the bound), then with every rule on: groups,
nationality caps per placement and per country, gender balance, min_fill for priority
5, a cap per host, a budget 3% below what the unconstrained optimum spends, tiered
objectives (urgent coverage, then score), and re-matching against the result with
groups only (2% of it frozen as travel booked, at most 15% moved). Prints a table and
writes JSON to benchmarks/results/rules-latest.json.

Columns: `gap` is (bound - objective) / bound with the proven bound of the round
(matching/rules/bound.py and matching/rules/decompose.py: the gender rule, the nationality cap per
placement, locks, group reach and the budget in; shares per country, host caps, tiers
and move limits left out, so part of this gap is what those rules cost, not search);
`model gap` is CP-SAT's own gap on the modelled pairs for the score tier (rounds solved
by one model); `windows (improving)` counts the neighbourhood search's windows.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, write_results
from volmatch.matching import solve_round, validate_result
from volmatch.matching.validate import rule_violations
from volmatch.models import Result, parse_round

QUICK = [(1_000, 200, 10.0), (10_000, 2_000, 10.0)]
FULL = [(50_000, 10_000, 60.0)]
HUGE = [(100_000, 20_000, 60.0)]


def all_rules(doc: dict[str, Any], pure: Result, time_limit: float) -> dict[str, Any]:
    """The round with every rule on, built around its unconstrained optimum."""
    countries = sorted({p["country"] for p in doc["placements"]})
    cost = {c: 2000 + 150 * (i % 7) for i, c in enumerate(countries)}
    country_of = {p["id"]: p["country"] for p in doc["placements"]}
    spend = sum(cost[country_of[a.placement]] for a in pure.assignments)
    n_prev = len(pure.assignments)
    previous = [
        {"volunteer": a.volunteer, "placement": a.placement}
        | ({"stage": "travel_booked"} if k % 50 == 0 else {})
        for k, a in enumerate(pure.assignments)
    ]
    policy = dict(doc.get("policy", {}))
    policy.update(
        {
            "max_same_nationality_per_placement": 2,
            "max_nationality_share_per_country": 0.6,
            "nationality_share_allowance": 2,
            "gender_balance": True,
            "min_fill": {5: 1},
            "max_per_host": 40,
            "budget": {"total": int(spend * 0.97), "cost": cost},
            "objective": ["urgent_coverage", "score"],
            "move_cost": 100,  # re-matching with a real cost per move
            "max_moves": max(1, n_prev * 15 // 100),
            "frozen_stages": ["travel_booked"],
            "time_limit_s": time_limit,
            "rule_costs": False,
        }
    )
    return doc | {"policy": policy, "previous": previous}


def run(sizes: list[tuple[int, int, float]], seed: int) -> list[dict[str, Any]]:
    rows = []
    for nv, npl, limit in sizes:
        doc = generate_round(nv, npl, seed=seed, rules=True)
        plain = {k: v for k, v in doc.items()}
        # the bound: the same pairs without any rule (groups dropped too)
        bare = plain | {
            "volunteers": [
                {k: v for k, v in x.items() if k != "group"} for x in plain["volunteers"]
            ]
        }
        t0 = time.perf_counter()
        pure = solve_round(parse_round(bare))
        t_pure = time.perf_counter() - t0
        # the previous result respects the groups, as a published one would
        grouped = solve_round(
            parse_round(
                doc
                | {"policy": doc.get("policy", {}) | {"time_limit_s": limit, "rule_costs": False}}
            )
        )
        ruled = parse_round(all_rules(doc, grouped, limit))
        t0 = time.perf_counter()
        result = solve_round(ruled)
        t_rules = time.perf_counter() - t0
        problems = validate_result(ruled, result) + rule_violations(ruled, result)
        gap = (result.bound - result.objective) / result.bound if result.bound else 0.0
        tier = result.tiers.get("score", {})  # type: ignore[attr-defined]
        model_gap = (tier["bound"] - tier["value"]) / tier["bound"] if tier.get("bound") else None
        rows.append(
            {
                "volunteers": nv,
                "placements": npl,
                "time_limit_s": limit,
                "pure_seconds": round(t_pure, 2),
                "pure_objective": pure.objective,
                "rules_seconds": round(t_rules, 2),
                "status": result.status,
                "objective": result.objective,
                "bound": result.bound,
                "gap": round(gap, 5),
                "model_gap": None if model_gap is None else round(model_gap, 5),
                "matched": len(result.assignments),
                "pure_matched": len(pure.assignments),
                "model_pairs": result.solver["model_pairs"],  # type: ignore[attr-defined]
                "search": tier_search(result),
                "all_pairs": result.solver["all_pairs"],  # type: ignore[attr-defined]
                "moves": len(result.moves),  # type: ignore[attr-defined]
                "min_fill_short": len(result.rules.get("min_fill", {}).get("short", [])),  # type: ignore[attr-defined]
                "violations": len(problems),
                "stages": result.stats["seconds"],
            }
        )
    return rows


def tier_search(result: Result) -> dict[str, int] | None:
    """The neighbourhood search's counts (None when one CP-SAT model solved it)."""
    tiers = getattr(result, "tiers", {}) or {}
    search = tiers.get("search")
    return dict(search) if isinstance(search, dict) else None


def search_cell(row: dict[str, Any]) -> str:
    s = row.get("search")
    if not s:
        return f"one model, {row['model_pairs']:,} pairs"
    return f"{s['windows']:,} ({s['improved']:,})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--full", action="store_true", help="add 50,000 x 10,000")
    ap.add_argument("--huge", action="store_true", help="add 100,000 x 20,000 (no target)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rows = run(QUICK + (FULL if args.full else []) + (HUGE if args.huge else []), args.seed)
    t = Table(title="Every policy rule on (bound = the relaxation of matching/rules/bound.py)")
    for col in (
        "size",
        "pure s",
        "rules s",
        "limit s",
        "status",
        "objective",
        "bound",
        "gap",
        "model gap",
        "matched",
        "windows (improving)",
        "moves",
        "violations",
    ):
        t.add_column(col, justify="right")
    for r in rows:
        t.add_row(
            f"{r['volunteers']:,} x {r['placements']:,}",
            str(r["pure_seconds"]),
            str(r["rules_seconds"]),
            str(r["time_limit_s"]),
            r["status"],
            f"{r['objective']:,}",
            f"{r['bound']:,}",
            f"{r['gap']:.3%}",
            "-" if r["model_gap"] is None else f"{r['model_gap']:.3%}",
            f"{r['matched']:,}",
            search_cell(r),
            str(r["moves"]),
            str(r["violations"]),
        )
    Console(width=200).print(t)
    write_results(rows, RESULTS / "rules-latest.json")


if __name__ == "__main__":
    main()

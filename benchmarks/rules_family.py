"""The policy rules on a family of round shapes: objective, best bound, gap and time.

    python -m benchmarks.rules_family                      # 10,000 x 2,000, 10 s each
    python -m benchmarks.rules_family --full               # adds 50,000 x 10,000, 60 s each
    python -m benchmarks.rules_family --shapes couples5-country,host2 --sizes 1000x200

One generator policy does not show whether the rules solver holds its promise on the
rounds programmes bring: each shape below crosses the rules that couple placements
(tight nationality caps, shares per country, host caps, couples and groups of three
together by placement or by country, binding budgets, gender balance, urgent tiers,
re-matching under `max_moves`). The `current` shape is the round of
`benchmarks.rules_bench` (the generator's `rules=True` round, every rule on).

Each round is generated once and cached as JSON under `benchmarks/.rounds`
(git-ignored; the budgets and previous assignments need solves of their own). Each
shape reports its objective, the solver's proven bound, the gap between them, the
wall clock, where the time went (the round's preparation, the rules solver's set-up,
its search, its bound and report) and the 1-minute load average before the solve.
The table goes to the terminal and the rows to `benchmarks/results/rules-family-latest.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from benchmarks.generate import generate_round
from benchmarks.report import RESULTS, write_results
from benchmarks.rules_bench import all_rules
from volmatch.matching import solve_round, validate_result
from volmatch.matching.validate import rule_violations
from volmatch.models import Result, Round, parse_round

HERE = Path(__file__).resolve().parent
ROUNDS = HERE / ".rounds"
SIZES = {"10k": (10_000, 2_000, 10.0), "50k": (50_000, 10_000, 60.0)}
"""The family's sizes and time limits (the targets' seconds)."""
TARGET_GAP = {"10k": 0.005, "50k": 0.01}
"""The gap each size should reach within its time limit."""


@dataclass(frozen=True)
class Shape:
    """One shape of round: its groups, its policy, and how budget and previous
    assignment are derived from the round's unconstrained optimum."""

    name: str
    about: str
    group_share: float = 0.0
    """Share of the volunteers in groups."""
    group_size: int = 2
    policy: dict[str, Any] = field(default_factory=dict)
    budget_share: float | None = None
    """Budget as a share of what the unconstrained optimum spends (None: no budget)."""
    rematch_moves: float | None = None
    """Re-matching against the optimum of other weights, at most this share moved."""
    build: Callable[[dict[str, Any], int, float], dict[str, Any]] | None = None
    """A builder of the whole document instead (the `current` shape)."""


def _current(doc: dict[str, Any], seed: int, limit: float) -> dict[str, Any]:
    """The round of `benchmarks.rules_bench`: groups, then every rule on around the
    grouped round's result."""
    grouped = solve_round(
        parse_round(
            doc | {"policy": doc.get("policy", {}) | {"time_limit_s": limit, "rule_costs": False}}
        )
    )
    return all_rules(doc, grouped, limit)


SHAPES: tuple[Shape, ...] = (
    Shape("current", "rules_bench: rules=True round, every rule on", build=_current),
    Shape(
        "natcap1",
        "1 per nationality per placement",
        policy={"max_same_nationality_per_placement": 1},
    ),
    Shape(
        "natcap2-share",
        "2 per nationality per placement, 40% + 2 per country",
        policy={"max_same_nationality_per_placement": 2, "max_nationality_share_per_country": 0.4},
    ),
    Shape(
        "host2",
        "2 per host, couples 2% by placement",
        group_share=0.02,
        policy={"max_per_host": 2, "group_together": "placement"},
    ),
    Shape(
        "couples5-country",
        "couples 5% by country, 1 per nationality, 4 per host",
        group_share=0.05,
        policy={
            "group_together": "country",
            "max_same_nationality_per_placement": 1,
            "max_per_host": 4,
        },
    ),
    Shape(
        "groups3-10-placement",
        "groups of 3, 10%, by placement, 8 per host",
        group_share=0.10,
        group_size=3,
        policy={"group_together": "placement", "max_per_host": 8},
    ),
    Shape(
        "couples10-country-gender",
        "couples 10% by country, gender balance",
        group_share=0.10,
        policy={"group_together": "country", "gender_balance": True},
    ),
    Shape("budget50", "budget 50% of the unconstrained spend", budget_share=0.5),
    Shape(
        "budget90-natcap2",
        "budget 90%, 2 per nationality per placement",
        budget_share=0.9,
        policy={"max_same_nationality_per_placement": 2},
    ),
    Shape(
        "urgent-tiers",
        "urgent coverage first, min_fill 1 at priority 4-5",
        policy={"objective": ["urgent_coverage", "score"], "min_fill": {4: 1, 5: 1}},
    ),
    Shape(
        "rematch5",
        "re-matching, at most 5% moved, 100 points a move",
        rematch_moves=0.05,
        policy={"move_cost": 100},
    ),
)


def add_groups(volunteers: list[dict[str, Any]], share: float, size: int, seed: int) -> None:
    """Put `share` of the volunteers into groups of `size` (`group` ids F00001...),
    drawn from a stream of their own."""
    n = len(volunteers)
    n_groups = int(n * share) // size
    rng = np.random.default_rng([seed, n, size, 7])
    members = rng.choice(n, size=n_groups * size, replace=False).tolist()
    for k in range(n_groups):
        for m in members[k * size : (k + 1) * size]:
            volunteers[m]["group"] = f"F{k + 1:05d}"


def _costs(doc: dict[str, Any]) -> dict[str, int]:
    """Per host country, the cost of one volunteer (as rules_bench prices them)."""
    countries = sorted({p["country"] for p in doc["placements"]})
    return {c: 2000 + 150 * (i % 7) for i, c in enumerate(countries)}


def build_round(shape: Shape, nv: int, npl: int, seed: int, limit: float) -> dict[str, Any]:
    """The round document of a shape at a size (generated, no caching)."""
    if shape.build is not None:
        return shape.build(generate_round(nv, npl, seed=seed, rules=True), seed, limit)
    doc = generate_round(nv, npl, seed=seed)
    if shape.group_share:
        add_groups(doc["volunteers"], shape.group_share, shape.group_size, seed)
    policy: dict[str, Any] = dict(doc.get("policy", {})) | shape.policy
    if shape.budget_share is not None:
        cost = _costs(doc)
        free = solve_round(parse_round(doc))
        country_of = {p["id"]: p["country"] for p in doc["placements"]}
        spend = sum(cost[country_of[a.placement]] for a in free.assignments)
        policy["budget"] = {"total": int(spend * shape.budget_share), "cost": cost}
    if shape.rematch_moves is not None:
        # the previous result: the optimum under other weights (preferences ignored),
        # so that the round's own optimum moves people and max_moves binds
        other = doc | {"policy": {"weights": {"preference": 0, "ranking": 0}}}
        prev = solve_round(parse_round(other))
        doc["previous"] = [
            {"volunteer": a.volunteer, "placement": a.placement} for a in prev.assignments
        ]
        policy["max_moves"] = max(1, int(len(prev.assignments) * shape.rematch_moves))
    doc["policy"] = policy
    return doc


def cached_round(shape: Shape, nv: int, npl: int, seed: int, limit: float) -> dict[str, Any]:
    """The shape's round, from `benchmarks/.rounds` when it was built before."""
    path = ROUNDS / f"{shape.name}-{nv}x{npl}-s{seed}.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text())
        return loaded
    doc = build_round(shape, nv, npl, seed, limit)
    ROUNDS.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")))
    tmp.replace(path)
    return doc


def measure(
    shape: Shape, size: str, seed: int, limit: float | None = None, gap_rule: bool = False
) -> dict[str, Any]:
    """Solve one shape at one size; the row of the table. `gap_rule`: afterwards (not
    timed), the rule whose relaxation moves the bound most (`matching.rules.gap`)."""
    nv, npl, default_limit = SIZES[size] if size in SIZES else (*_parse(size), 10.0)
    limit = default_limit if limit is None else limit
    doc = cached_round(shape, nv, npl, seed, limit)
    doc["policy"] = doc.get("policy", {}) | {"time_limit_s": limit, "rule_costs": False}
    r = parse_round(doc)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = solve_round(r)
    seconds = time.perf_counter() - t0
    problems = validate_result(r, result) + rule_violations(r, result)
    out = row(shape, size, nv, npl, limit, seconds, load, result, len(problems))
    if gap_rule:
        out["gap_rule"] = _gap_rule(r)
        # the best bound known: the solver's, or the flows' computed afterwards (the
        # solver's is what its relaxation delivered within the time limit)
        best = min(result.bound, out["gap_rule"]["flows_bound"])
        out["best_bound"] = best
        out["best_gap"] = round((best - result.objective) / best, 6) if best else 0.0
    return out


def _gap_rule(r: Round) -> dict[str, Any]:
    """The rule whose relaxation moves the bound's flows most, on the round's arrays."""
    from volmatch.matching.prepared import locked_pair_indices, prepare
    from volmatch.matching.previous import previous_pairs
    from volmatch.matching.rules.gap import bound_moves

    prep = prepare(r)
    prev = previous_pairs(prep.compiled, prep.pairs)
    prev_idx = np.array([i for i in prev.values() if i >= 0], dtype=np.intp)
    return bound_moves(prep, r.policy, locked_pair_indices(prep), prev_idx, len(r.previous))


def row(
    shape: Shape,
    size: str,
    nv: int,
    npl: int,
    limit: float,
    seconds: float,
    load: float,
    result: Result,
    violations: int,
) -> dict[str, Any]:
    """A result's row: objective, bound, gap, time and where it went."""
    solver: dict[str, Any] = getattr(result, "solver", {}) or {}
    tiers: dict[str, Any] = getattr(result, "tiers", {}) or {}
    gap = (result.bound - result.objective) / result.bound if result.bound else 0.0
    stages = dict(result.stats.get("seconds", {}))
    return {
        "shape": shape.name,
        "about": shape.about,
        "size": size,
        "volunteers": nv,
        "placements": npl,
        "time_limit_s": limit,
        "seconds": round(seconds, 2),
        "load_average": round(load, 2),
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": round(gap, 6),
        "target_gap": TARGET_GAP.get(size),
        "pure_optimum": solver.get("pure_optimum"),
        "bound_source": solver.get("bound_source"),
        "matched": len(result.assignments),
        "violations": violations,
        "stages": stages,
        "solver_stages": solver.get("stages", {}),
        "search": tiers.get("search"),
        "gap_rule": solver.get("gap_rule"),
    }


def _parse(size: str) -> tuple[int, int]:
    a, b = size.lower().split("x")
    return int(a), int(b)


def table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="Policy rules by shape (gap = (bound - objective) / bound)")
    for col in (
        "shape",
        "size",
        "limit s",
        "s",
        "load",
        "status",
        "objective",
        "bound",
        "gap",
        "best gap",
        "target",
        "prepare s",
        "set-up s",
        "search s",
        "bound+report s",
        "windows (improving)",
        "violations",
        "gap rule",
    ):
        t.add_column(col, justify="right")
    for r in rows:
        st, ss = r["stages"], r["solver_stages"]
        prepare = sum(v for k, v in st.items() if k not in ("solve", "explain", "kpis"))
        search = r["search"] or {}
        t.add_row(
            r["shape"],
            r["size"],
            str(r["time_limit_s"]),
            str(r["seconds"]),
            str(r["load_average"]),
            r["status"],
            f"{r['objective']:,}",
            f"{r['bound']:,}",
            f"{r['gap']:.3%}",
            f"{r['best_gap']:.3%}" if "best_gap" in r else "-",
            "-" if r["target_gap"] is None else f"{r['target_gap']:.1%}",
            f"{prepare:.2f}",
            f"{ss.get('setup', 0):.2f}",
            f"{ss.get('search', 0):.2f}",
            f"{ss.get('bound_and_report', 0):.2f}",
            f"{search.get('windows', 0):,} ({search.get('improved', 0):,})" if search else "-",
            str(r["violations"]),
            (r["gap_rule"] or {}).get("rule") or "-",
        )
    return t


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--full", action="store_true", help="add 50,000 x 10,000")
    ap.add_argument("--sizes", help="comma list of 10k, 50k or NxM (default 10k)")
    ap.add_argument("--shapes", help="comma list of shape names (default: all)")
    ap.add_argument("--time-limit", type=float, help="seconds per solve instead of the size's")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--gap-rule",
        action="store_true",
        help="after each solve, measure the rule the gap is in (flows, untimed)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS / "rules-family-latest.json")
    args = ap.parse_args()
    sizes = args.sizes.split(",") if args.sizes else ["10k"] + (["50k"] if args.full else [])
    wanted = set(args.shapes.split(",")) if args.shapes else None
    shapes = [s for s in SHAPES if wanted is None or s.name in wanted]
    rows = []
    console = Console(width=220)
    for size in sizes:
        for shape in shapes:
            rows.append(measure(shape, size, args.seed, args.time_limit, args.gap_rule))
            r = rows[-1]
            console.print(
                f"{r['shape']} {r['size']}: gap {r['gap']:.3%} in {r['seconds']} s "
                f"(load {r['load_average']})"
            )
    console.print(table(rows))
    write_results(rows, args.out)


if __name__ == "__main__":
    main()

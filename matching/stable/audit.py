"""How far a result is from stable, and what stability costs."""

from __future__ import annotations

from typing import Any

from volmatch.matching.prepared import Prepared, Solution
from volmatch.matching.pure import solve_pure
from volmatch.matching.stable.market import market
from volmatch.matching.stable.preference_lists import rankings
from volmatch.matching.stable.solver import solve_stable
from volmatch.matching.stable.stability import blocking


def stability_audit(prep: Prepared, sol: Solution) -> dict[str, Any]:
    """How far a result is from stable, and what stability costs.

    Counts the blocking pairs (and blocking groups) of `sol`, names the volunteers and
    placements involved (up to `LIST_CAP` ids each, counts exact), and reports the price
    of stability: the min-cost-flow optimum of the round minus the total score of its
    stable matching (for `policy.stable_side`). Tightens `sol.bound` to that optimum
    when it is lower, as it is a proven upper bound on any assignment honouring the locks.
    """
    rk = rankings(prep)
    mk = market(prep)
    out = blocking(prep, sol.chosen, rk, mk)
    is_stable_mode = "stable" in sol.extra
    stable = sol if is_stable_mode else solve_stable(prep)
    # An optimal-mode result of the pure policy is the optimum itself: no second flow.
    pure_optimum = not is_stable_mode and sol.status == "optimal" and not sol.extra
    optimum = sol if pure_optimum else solve_pure(prep)
    out["stable"] = out["blocking_pairs"] == 0 and out["blocking_groups"] == 0
    out["optimal_objective"] = optimum.objective
    out["stable_objective"] = stable.objective
    out["price_of_stability"] = optimum.objective - stable.objective
    out["price_of_stability_pct"] = (
        round(100.0 * (optimum.objective - stable.objective) / optimum.objective, 3)
        if optimum.objective
        else 0.0
    )
    out["optimal_placed"] = len(optimum.chosen)
    out["stable_placed"] = len(stable.chosen)
    if is_stable_mode:
        sol.bound = min(sol.bound, optimum.objective)
    return out

"""The objective, tier by tier: CP-SAT maximises each tier in turn, which is then kept
(within `objective_tolerance`) while the next is. Large rounds whose greedy start
keeps every rule go to the neighbourhood search instead."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.greedy import greedy_start
from volmatch.matching.rules.model import (
    RulesModel,
    build_model,
    cpsat_solver,
    hint_everything,
    set_hint,
)
from volmatch.matching.rules.setup import CPSAT_SHARE, RulesSetup
from volmatch.matching.rules.windows import solve_by_windows
from volmatch.models import Policy


def solve_tiers(
    prep: Prepared,
    setup: RulesSetup,
    policy: Policy,
    skip: frozenset[str] = frozenset(),
    seconds: float | None = None,
) -> tuple[NDArray[np.intp] | None, RulesModel, dict[str, Any], bool]:
    """Solve tier by tier; return the chosen pairs (indices into the round's pairs;
    None if infeasible)."""
    # What the flows and the model left of the policy's share; small rounds finish far
    # inside it, so their results do not depend on the clock.
    if seconds is None:
        spent = time.perf_counter() - setup.started
        budget = max(1.0, CPSAT_SHARE * policy.time_limit_s - spent)
    else:
        budget = seconds
    mp = setup.model_pairs
    full = len(mp) == len(prep.pairs)
    # A solution that keeps every hard rule (when greedy insertion finds one) is the
    # first hint and the fallback when CP-SAT finds nothing better in its time.
    start = greedy_start(prep, setup, policy, skip)
    if not full and seconds is None and not skip:
        picked = np.sort(mp[start]).astype(np.intp)
        ev = Evaluator(prep, policy, setup.prev_pair)
        if not ev.breaches(picked, setup.locked):
            return solve_by_windows(prep, setup, policy, picked)
    built = build_model(prep, setup, policy, skip)
    model = built.ctx.model
    if seconds is None:  # the greedy start and the model come out of the budget too
        budget = max(1.0, CPSAT_SHARE * policy.time_limit_s - (time.perf_counter() - setup.started))
    values: dict[str, Any] = {}
    chosen: NDArray[np.bool_] | None = start
    if start is not None:
        hint_everything(model, built.ctx.vars, start, policy)
    proven = True
    for k, (name, expr) in enumerate(built.tiers):
        model.maximize(expr)
        # On restricted (large) models presolve alone outlasts the budget (measured:
        # > 6 s at 70,000 pairs with the rules), while the search from a complete hint
        # starts at once: there, search without presolve.
        solver = cpsat_solver(policy, max(budget / len(built.tiers), 0.5), presolve=full)
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            return None, built, values, False
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            proven = False
            if chosen is None:
                return None, built, values, False
            break
        proven &= status == cp_model.OPTIMAL
        best = round(solver.objective_value)
        values[name] = {
            "value": best,
            "bound": round(solver.best_objective_bound),
            "optimal": status == cp_model.OPTIMAL,
        }
        solution = list(solver.response_proto.solution)
        chosen = built.ctx.vars.value(solver)
        # warm-start the next tier from this solution, every variable of it
        set_hint(model, solution)
        if k + 1 < len(built.tiers):
            tol = 0.0 if name == "min_fill" else policy.objective_tolerance
            keep = best - int(abs(best) * tol)
            model.add(expr >= keep)
    if chosen is None:
        return None, built, values, False
    return np.sort(mp[chosen]).astype(np.intp), built, values, proven

"""The objective, tier by tier: CP-SAT maximises each tier in turn, which is then kept
(within `objective_tolerance`) while the next is. Large rounds whose greedy start
keeps every rule go to the neighbourhood search instead."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.bound import per_placement, priced_start
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.greedy import greedy_start
from volmatch.matching.rules.model import (
    RulesModel,
    build_model,
    cpsat_solver,
    hint_everything,
    set_hint,
    solve_watched,
)
from volmatch.matching.rules.setup import CPSAT_SHARE, RulesSetup
from volmatch.matching.rules.windows import solve_by_windows
from volmatch.matching.stop import StopWatch
from volmatch.models import Policy

MIN_CPSAT_SECONDS = 1.0
"""Seconds CP-SAT gets at least, however much of the time limit is spent."""
MIN_TIER_SECONDS = 0.5
"""Seconds each tier gets at least."""
PRICED_SHARE = 0.2
"""Share of the time limit the priced start under a budget may take at most (a dozen
flows on a quiet machine take a quarter of it at 10,000 x 2,000): it starts the
search within a few hundredths of a percent of the bound where the greedy alone
starts percents away."""
SECOND_START_SHARE = 0.25
"""A second greedy start is made only when the first took at most this share of the
search's time left: on a loaded machine a greedy of couples takes seconds at 10,000 x
2,000, and the windows need the time more than a start that is often no better."""


class Tiered(NamedTuple):
    """What a solve of the tiers gives: the chosen pairs (indices into the round's
    pairs; None when infeasible), the model (its notes), each tier's value and bound,
    and whether every tier was proven optimal."""

    chosen: NDArray[np.intp] | None
    built: RulesModel
    tiers: dict[str, Any]
    proven: bool


def solve_tiers(
    prep: Prepared,
    setup: RulesSetup,
    policy: Policy,
    skip: frozenset[str] = frozenset(),
    seconds: float | None = None,
) -> Tiered:
    """Solve tier by tier, the rules in `skip` left out, in `seconds` (default: what is
    left of the policy's share of the time limit)."""
    mp = setup.model_pairs
    full = len(mp) == len(prep.pairs)
    # A solution that keeps every hard rule (when greedy insertion finds one) is the
    # first hint and the fallback when CP-SAT finds nothing better in its time.
    t_greedy = time.perf_counter()
    start = greedy_start(prep, setup, policy, skip)
    greedy_seconds = time.perf_counter() - t_greedy
    setup.stages["start_greedy"] = setup.stages.get("start_greedy", 0.0) + greedy_seconds
    if not full and seconds is None and not skip:
        picked = np.sort(mp[start]).astype(np.intp)
        ev = Evaluator(prep, policy, setup.prev_pair)
        if greedy_seconds <= SECOND_START_SHARE * setup.seconds_left(policy, CPSAT_SHARE):
            t_second = time.perf_counter()
            picked = _better_start(prep, setup, policy, ev, picked)
            setup.stages["start_second"] = time.perf_counter() - t_second
        if policy.budget is not None and not per_placement(policy):
            # (where placements have rules of their own the start is the
            # placement-by-placement bound's choices, priced already, and the flows
            # of their networks take seconds: 2.1 s for no gain on `current`)
            t_priced = time.perf_counter()
            picked = _priced_start(prep, setup, policy, ev, picked)
            setup.stages["start_priced"] = time.perf_counter() - t_priced
        if not ev.breaches(picked, setup.locked):
            return Tiered(*solve_by_windows(prep, setup, policy, picked))
    built = build_model(prep, setup, policy, skip)
    # What the flows, the start and the model left of the policy's share; small rounds
    # finish far inside it, so their results do not depend on the clock.
    budget = seconds
    if budget is None:
        spent = time.perf_counter() - setup.started
        budget = max(MIN_CPSAT_SECONDS, CPSAT_SHARE * policy.time_limit_s - spent)
    # whatever the floors above, the solve keeps to the time limit
    budget = setup.clamp(budget, policy)
    until = time.perf_counter() + budget
    hint_everything(
        built.ctx.model, built.ctx.vars, start, policy, setup.clamp(budget, policy), setup.watch
    )
    return _tier_by_tier(built, policy, until, full, start, mp, setup.watch)


def _better_start(
    prep: Prepared, setup: RulesSetup, policy: Policy, ev: Evaluator, picked: NDArray[np.intp]
) -> NDArray[np.intp]:
    """The better of the greedy repairs of the placements' choices (`picked`) and of
    the bound's flow's assignment (`setup.other_hint`), by the tiers in order: the
    choices ignore the shares per country, and where shares bind their repair drops
    far more (natcap2-share at 10,000 x 2,000: 2,555,918 against 2,677,130)."""
    if setup.other_hint is None:
        return picked
    hint = setup.hint
    setup.hint = setup.other_hint
    try:
        other = np.sort(setup.model_pairs[greedy_start(prep, setup, policy, frozenset())])
    finally:
        setup.hint = hint
    other = other.astype(np.intp)
    if ev.breaches(other, setup.locked):
        return picked
    if ev.breaches(picked, setup.locked) or ev.values(other) > ev.values(picked):
        return other
    return picked


def _priced_start(
    prep: Prepared, setup: RulesSetup, policy: Policy, ev: Evaluator, picked: NDArray[np.intp]
) -> NDArray[np.intp]:
    """Under a budget, the better of `picked` and the greedy repairs of the priced
    flows either side of the budget (`matching.rules.bound.priced_start`), whose bound
    also tightens the round's. The search for the multiplier starts at the bound's
    best so far and takes `PRICED_SHARE` of the time limit at most."""
    relax = None if setup.relaxed is None else setup.relaxed.latest()
    prev_idx = np.array([i for i in setup.prev_pair.values() if i >= 0], dtype=np.intp)
    until = time.perf_counter() + min(
        PRICED_SHARE * policy.time_limit_s, setup.seconds_left(policy, CPSAT_SHARE) / 2
    )
    priced = priced_start(
        prep,
        policy,
        setup.locked,
        prev_idx,
        len(prep.compiled.round.previous),
        near=None if relax is None else relax.multiplier,
        until=until,
        watch=setup.watch,
    )
    if priced is None:
        return picked
    setup.relaxed_bound = min(setup.relaxed_bound, priced.bound)
    best, best_values = picked, ev.values(picked)
    for hint in (priced.over, priced.under):
        if hint is None:
            continue
        # the flow's pairs may lie outside the model's: the greedy sees them too
        mp = np.union1d(setup.model_pairs, hint).astype(np.intp)
        repaired = greedy_start(
            prep, replace(setup, model_pairs=mp, hint=hint), policy, frozenset()
        )
        cand = np.sort(mp[repaired]).astype(np.intp)
        values = ev.values(cand)
        if not ev.breaches(cand, setup.locked) and values > best_values:
            best, best_values = cand, values
    return best


def _tier_by_tier(
    built: RulesModel,
    policy: Policy,
    until: float,
    full: bool,
    start: NDArray[np.bool_],
    mp: NDArray[np.intp],
    watch: StopWatch,
) -> Tiered:
    """Maximise each tier in turn, each kept (within the tolerance) for the next, all of
    them by `until` (a perf_counter() value)."""
    model = built.ctx.model
    values: dict[str, Any] = {}
    chosen = start
    proven = True
    for k, (name, expr) in enumerate(built.tiers):
        model.maximize(expr)
        # On restricted (large) models presolve alone outlasts the budget, while the
        # search from a complete hint starts at once: there, search without presolve.
        left = max(0.0, until - time.perf_counter())
        share = max(left / (len(built.tiers) - k), min(MIN_TIER_SECONDS, left))
        solver = cpsat_solver(policy, share, presolve=full)
        status = solve_watched(solver, model, watch)
        if status == cp_model.INFEASIBLE:
            return Tiered(None, built, values, False)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            proven = False
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
    return Tiered(np.sort(mp[chosen]).astype(np.intp), built, values, proven)

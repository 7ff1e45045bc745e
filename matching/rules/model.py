"""The CP-SAT model of a round with rules: a boolean per modelled pair (`PairVars`),
each rule of `matching.constraints` added by its own module under an enforcement
literal, and the objective tiers in the order of `matching.rules.objective`.

Pairs held fixed are constants, so that the same model serves a window of the search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.constraints import (
    add_assignment,
    add_budget,
    add_gender_balance,
    add_groups,
    add_max_per_host,
    add_min_fill,
    add_moves,
    add_nationality_per_placement,
    add_nationality_share,
    fairness_floor,
    urgent_coverage,
)
from volmatch.matching.constraints.base import PairVars, Penalty, RuleContext
from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.objective import tier_names
from volmatch.matching.rules.setup import RulesSetup
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Policy

PORTFOLIO_WORKERS = 8
"""Subsolvers of the portfolio a whole model runs, interleaved on one thread: a search
that completes returns the same solution on every run."""
SEARCH_WORKERS = 2
"""Workers of a restricted model's search, which the clock stops anyway: both cores."""
MIN_SOLVE_SECONDS = 0.05
"""Seconds a whole model's solve gets at least (its callers keep to the time limit)."""
HINT_SHARE = 0.1
"""Share of the time limit the completion of a hint may take ..."""
MIN_HINT_SECONDS = 1.0
"""... and at least this many seconds."""


@dataclass
class RulesModel:
    """A CP-SAT model of the round with rules, with its penalties and tiers."""

    ctx: RuleContext
    penalties: list[Penalty]
    tiers: list[tuple[str, cp_model.LinearExprT]]
    score_expr: cp_model.LinearExprT


def build_model(
    prep: Prepared,
    setup: RulesSetup,
    policy: Policy,
    skip: frozenset[str] = frozenset(),
    force_rules: bool = True,
    held: NDArray[np.bool_] | None = None,
    outside: dict[str, dict[Any, int]] | None = None,
    by_record: bool = False,
) -> RulesModel:
    """The CP-SAT model over `setup.model_pairs`; pairs marked in `held` are the
    constant 1 (chosen, not decided by this model). `by_record`: an enforcement
    literal per record a rule binds (see `RuleContext.by_record`)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    model = cp_model.CpModel()
    mp = setup.model_pairs
    if held is None:
        x: list[Any] = [model.new_bool_var(f"x{i}") for i in range(len(mp))]
    else:
        x = [1 if h else model.new_bool_var(f"x{i}") for i, h in enumerate(held.tolist())]
    pv = PairVars(mp, pairs.v[mp], pairs.p[mp], scores.total[mp], x, held)
    ctx = RuleContext(
        model, pv, c, pairs, scores, policy, outside=outside or {}, by_record=by_record
    )
    pos = np.full(len(pairs), -1, dtype=np.intp)
    pos[mp] = np.arange(len(mp))
    locks = setup.locked if "locked" not in skip else np.zeros(0, dtype=np.intp)
    penalties = add_assignment(ctx, pos[locks])
    for rule, add in (
        ("groups", add_groups),
        ("nationality_per_placement", add_nationality_per_placement),
        ("nationality_share", add_nationality_share),
        ("gender_balance", add_gender_balance),
        ("max_per_host", add_max_per_host),
        ("budget", add_budget),
    ):
        if rule not in skip:
            penalties += add(ctx)
    if "moves" not in skip:
        prev_at = {v: int(pos[i]) if i >= 0 else -1 for v, i in setup.prev_pair.items()}
        penalties += add_moves(ctx, prev_at)
    score_expr = (
        pv.total(None, pv.score)
        - cp_model.LinearExpr.sum([pen.weight * pen.expr for pen in penalties])
        if penalties
        else pv.total(None, pv.score)
    )
    tiers: list[tuple[str, cp_model.LinearExprT]] = []
    for name in tier_names(policy, skip):
        expr = _tier_expr(ctx, name, score_expr)
        if expr is not None:  # min_fill where no placement is left to fill
            tiers.append((name, expr))
    if force_rules:
        for lit in [*ctx.enforce.values(), *ctx.records.values()]:
            model.add(lit == 1)
    hint = np.zeros(len(pairs), dtype=np.bool_)
    hint[setup.hint] = True
    # one proto write, not a call per variable (thousands of them)
    free = pv.variables()
    proto_hint = model.proto.solution_hint
    proto_hint.vars.extend(var.index for _, var in free)
    proto_hint.values.extend(int(hint[mp[i]]) for i, _ in free)
    return RulesModel(ctx, penalties, tiers, score_expr)


def _tier_expr(
    ctx: RuleContext, name: str, score_expr: cp_model.LinearExprT
) -> cp_model.LinearExprT | None:
    """The expression a tier maximises (None: `min_fill` has no shortfall to count)."""
    if name == "min_fill":
        shortfall = add_min_fill(ctx)
        if shortfall is None:
            return None
        least_short: cp_model.LinearExprT = -shortfall
        return least_short
    if name == "score":
        return score_expr
    if name == "urgent_coverage":
        covered: cp_model.LinearExprT = urgent_coverage(ctx)
        return covered
    return fairness_floor(ctx)


def hint_everything(
    model: cp_model.CpModel,
    pv: PairVars,
    start: NDArray[np.bool_],
    policy: Policy,
    most_seconds: float | None = None,
    watch: StopWatch = NO_STOP,
) -> cp_model.CpSolver | None:
    """Hint every variable of the model, not just the pairs: CP-SAT only starts from a
    hint it can complete, and completing the rules' helper variables is itself a search.
    A copy of the model with the pairs fixed gives the rest at once; it is returned
    (None when the start breaks a rule) so that callers can read values off it."""
    probe = model.clone()
    free = pv.variables()
    # each pair fixed by its domain in the proto (a constraint per pair costs a Python
    # call each, seconds on a loaded machine)
    for i, var in free:
        domain = probe.proto.variables[var.index].domain
        domain.clear()
        domain.extend([int(start[i]), int(start[i])])
    probe.clear_objective()  # type: ignore[no-untyped-call]
    s = cp_model.CpSolver()
    s.parameters.num_workers = 1
    seconds = max(MIN_HINT_SECONDS, HINT_SHARE * policy.time_limit_s)
    if most_seconds is not None:
        seconds = min(seconds, most_seconds)
    s.parameters.max_time_in_seconds = seconds
    s.parameters.random_seed = policy.seed
    s.parameters.catch_sigint_signal = False  # (see cpsat_solver)
    model.clear_hints()  # type: ignore[no-untyped-call]
    if solve_watched(s, probe, watch) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        set_hint(model, list(s.response_proto.solution)[: len(model.proto.variables)])
        return s
    # one proto write, not a call per variable (thousands of them)
    hint = model.proto.solution_hint
    hint.vars.extend(var.index for _, var in free)
    hint.values.extend(int(start[i]) for i, _ in free)
    return None


def set_hint(model: cp_model.CpModel, values: list[int]) -> None:
    """Hint the first len(values) variables at once (one proto write, not a call each)."""
    model.clear_hints()  # type: ignore[no-untyped-call]
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)


def solve_watched(
    solver: cp_model.CpSolver, model: cp_model.CpModel, watch: StopWatch
) -> cp_model.CpSolverStatus:
    """`solver.solve(model)`, its search stopped and `Stopped` raised within
    `matching.stop.STOP_POLL_S` of `watch` saying stop (the time limit alone would
    hold a cancelled round for the rest of it)."""
    with watch.during(solver.stop_search):
        return solver.solve(model)


def cpsat_solver(policy: Policy, seconds: float, presolve: bool = True) -> cp_model.CpSolver:
    """A CP-SAT solver for a whole model: a deterministic portfolio with presolve, or
    (on a restricted model, whose presolve outlasts the time) a search on both cores."""
    s = cp_model.CpSolver()
    p = s.parameters
    # A portfolio interleaved on one thread: a search that completes returns the same
    # solution on every run (parallel workers could return another of equal value).
    if presolve:
        p.num_workers = PORTFOLIO_WORKERS
        p.interleave_search = True
    else:
        # a restricted model's search is stopped by the clock anyway: use both cores
        p.num_workers = SEARCH_WORKERS
    # The contract's limit is wall-clock. Searches that finish (small rounds, proven
    # optima) give the same result on any machine; a search stopped by the clock may
    # differ with the machine's load (a deterministic-time unit costs seconds of wall
    # clock, so a deterministic limit cannot honour time_limit_s).
    p.max_time_in_seconds = max(seconds, MIN_SOLVE_SECONDS)
    p.random_seed = policy.seed
    p.cp_model_presolve = presolve
    # Ctrl-C is the caller's (`matching.stop`): CP-SAT's own handler ended only the
    # search at hand, and the solve went on to write a result
    p.catch_sigint_signal = False
    return s

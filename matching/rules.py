"""Rounds with policy rules: CP-SAT, warm-started from the exact min-cost-flow optimum
of the round without the rules.

Why not one boolean per eligible pair: measured here, CP-SAT's presolve alone takes a
minute at 425,000 pairs, and more than the whole time limit at 30,000 with every rule.
Small rounds (up to FULL_MODEL_PAIRS) get one model with every pair, which can prove
the optimum. Larger ones start from a greedy solution that keeps every rule and are
improved window by window (`matching.lns`): CP-SAT on a dozen placements at a time,
the rest of the assignment held as constants. The relaxation of `matching.bound` (the
flow optimum with the network rules kept) is a valid upper bound whatever the search
leaves out; `status` is `optimal` only when the model holds every pair and CP-SAT
proves its optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.bound import Pending, per_placement, relaxation_later
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
from volmatch.matching.constraints.budget import placement_costs
from volmatch.matching.constraints.gender import BALANCED_GENDERS, balance_applies, missing_genders
from volmatch.matching.constraints.groups import unplaceable_groups
from volmatch.matching.decompose import best_step, decomposition_steps
from volmatch.matching.explain import pair_failure_details
from volmatch.matching.lns import Evaluator, SolveWindow, Window, improve, tier_names
from volmatch.matching.prepared import Prepared, Solution, locked_pair_indices
from volmatch.matching.previous import moves_report, pair_index, previous_pairs
from volmatch.matching.pure import has_groups, solve_pure
from volmatch.models import Conflict, InfeasibleRound, Policy

BOUND_SHARE = 0.9
"""Share of `time_limit_s` after which a relaxation still running is stopped (its best
bound so far stands). Large rounds' children restart the placement-by-placement bound
until then, so a solve takes about this share and the result's building (0.3 s at
10,000 x 2,000)."""
CPSAT_SHARE = 0.85
"""Share of `time_limit_s` by which the solve should be done (building the result and
explaining it take the rest)."""
START_SHARE = 0.25
"""Share of `time_limit_s` a large round waits for the relaxation's first assignment,
its search's start (it comes after one flow: ~1 s at 10,000 x 2,000, 6-9 s at
50,000 x 10,000); past it, the search starts from the pure flow's."""
START_STEPS = 30
"""Subgradient steps of the placement-by-placement bound behind a large round's start
(1.2 s at 10,000 x 2,000; the search ended lower from 50 or 90: it starts later,
and the child's later choices guide it anyway), at least a third of them."""
START_STEPS_SHARE = 0.25
"""At most this share of the time limit goes to those steps."""
FULL_MODEL_PAIRS = 6_000
"""Up to this many eligible pairs, the model holds all of them (and can prove optimality)."""
PER_VOLUNTEER = 6
"""Best pairs kept per volunteer in a restricted model."""
WINDOW_WORKERS = 1
"""CP-SAT workers per window: windows are small, and one worker keeps them reproducible."""
WINDOW_EFFORT = 0.1
"""CP-SAT deterministic time per window (about 0.1-0.3 s of wall clock here; 0.1
rather than 0.05 since guided windows hold a dozen placements: at 10,000 x 2,000 the
gap came out 0.005-0.007% smaller on two rounds, three runs each)."""
PER_PLACEMENT_EXTRA = 6
"""Best candidates kept per placement beyond its slots."""
HARD_RULES = (
    "locked",
    "groups",
    "nationality_per_placement",
    "nationality_share",
    "max_per_host",
    "budget",
    "max_moves",
)


@dataclass
class _Setup:
    started: float
    """perf_counter() when the round's solve began."""
    model_pairs: NDArray[np.intp]
    relaxed_bound: int
    locked: NDArray[np.intp]
    """Indices into prep.pairs of locked and frozen pairs."""
    prev_pair: dict[int, int]
    """previous volunteer index -> index into prep.pairs of their previous pair (-1: gone)."""
    hint: NDArray[np.intp]
    pure_objective: int
    relaxed: Pending | None = None
    """The relaxation (its bound and assignment), maybe still being computed."""
    guide: NDArray[np.intp] | None = None
    """The placement-by-placement bound's choices (nearly an assignment, worth more
    than the start repaired from them): the search looks first where they differ."""

    def fresh_guide(self) -> NDArray[np.intp] | None:
        """The relaxation's newest choices so far (the child's bound converges while
        the search runs), None when it has none."""
        relax = None if self.relaxed is None else self.relaxed.latest()
        return None if relax is None else relax.start

    def bound(self, deadline: float | None = None) -> int:
        """The proven bound: the relaxation's (the best found by `deadline`), where it
        is tighter than the flow's."""
        relax = None if self.relaxed is None else self.relaxed.result(deadline)
        return self.relaxed_bound if relax is None else min(relax.bound, self.relaxed_bound)


def _frozen_locks(prep: Prepared) -> NDArray[np.intp]:
    """Pairs of previous assignments at a frozen stage; they must still be eligible."""
    c, r = prep.compiled, prep.compiled.round
    frozen = [a for a in r.previous if a.stage is not None and a.stage in r.policy.frozen_stages]
    if not frozen:
        return np.zeros(0, dtype=np.intp)
    v = np.array([c.vindex[a.volunteer] for a in frozen], dtype=np.int64)
    p = np.array([c.pindex[a.placement] for a in frozen], dtype=np.int64)
    at = pair_index(c, prep.pairs, v, p)
    conflicts = []
    for k in np.flatnonzero(at < 0).tolist():
        details = pair_failure_details(c, int(v[k]), int(p[k]))
        conflicts.append(
            Conflict(
                rule="frozen_stages",
                message=(
                    f"{frozen[k].volunteer} is frozen at {frozen[k].placement} (stage "
                    f"{frozen[k].stage!r}) but the pair now breaks "
                    + "; ".join(f"{r_}: {d}" for r_, d in details.items())
                ),
                volunteers=(frozen[k].volunteer,),
                placements=(frozen[k].placement,),
            )
        )
    if conflicts:
        raise InfeasibleRound(conflicts)
    return at


def _select_pairs(prep: Prepared, must: list[NDArray[np.intp]]) -> NDArray[np.intp]:
    """The pairs the model holds (all of them for small rounds)."""
    c, pairs, score = prep.compiled, prep.pairs, prep.scores.total
    n = len(pairs)
    if n <= FULL_MODEL_PAIRS:
        return np.arange(n, dtype=np.intp)
    keep = np.zeros(n, dtype=np.bool_)
    for arr in must:
        keep[arr[arr >= 0]] = True
    # each volunteer's best pairs
    order = np.lexsort((-score, pairs.v))
    sv = pairs.v[order]
    first = np.searchsorted(sv, sv, side="left")
    keep[order[(np.arange(n) - first) < PER_VOLUNTEER]] = True
    # each placement's best candidates (pairs are placement-major already)
    order = np.lexsort((-score, pairs.p))
    sp = pairs.p[order]
    first = np.searchsorted(sp, sp, side="left")
    limit = c.capacity[sp] + PER_PLACEMENT_EXTRA
    keep[order[(np.arange(n) - first) < limit]] = True
    # every pair of a group member, so groups can find a common placement
    keep |= c.group[pairs.v] >= 0
    return np.flatnonzero(keep)


def _setup(prep: Prepared, started: float) -> _Setup:
    c, r = prep.compiled, prep.compiled.round
    # the locks are checked first (InfeasibleRound), so nothing below raises on them
    locked = np.union1d(locked_pair_indices(prep), _frozen_locks(prep)).astype(np.intp)
    prev_pair = previous_pairs(c, prep.pairs)
    prev_idx = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
    # large rounds: the relaxation's flows start on the other core now, beside the
    # flow below and the search
    relax_wait = relaxation_later(prep, r.policy, locked, prev_idx, len(r.previous))
    try:
        pure = solve_pure(prep)
    except BaseException:
        relax_wait.cancel()
        raise
    if len(prep.pairs) <= FULL_MODEL_PAIRS:
        relax = relax_wait.result()
        assert relax is not None
        # (a relaxation that came from a child process carries no pairs)
        hint = relax.chosen if len(relax.chosen) else pure.chosen
        guide = relax.start
        if relax.start is not None:
            hint = relax.start
        must = [pure.chosen, relax.chosen, hint, locked, prev_idx]
    else:
        # Large rounds: the bound comes from a child process while the search runs.
        # Its first assignment (host and nationality caps or the gender stand-in, the
        # move bonus, the budget priced in) is a far better start than the pure flow's:
        # measured at 10,000 x 2,000, the start alone beat the old search's result.
        first = relax_wait.first(started + START_SHARE * r.policy.time_limit_s)
        guide = None
        hint = first.chosen if first is not None and len(first.chosen) else pure.chosen
        if first is not None and per_placement(r.policy):
            # Better still: the placement-by-placement bound's choices at the first
            # flow's multiplier (the child goes on with the bound meanwhile); at
            # 10,000 x 2,000 the search from them ends 0.15% higher.
            steps = best_step(
                decomposition_steps(
                    prep, r.policy, first.multiplier, prev_idx, len(r.previous),
                    0.99 * first.bound, START_STEPS,
                    until=time.perf_counter() + START_STEPS_SHARE * r.policy.time_limit_s,
                    balance_budget=True, locked=locked,
                ),
                least=START_STEPS // 3,
            )
            if steps is not None:
                hint = guide = steps.chosen
        must = [pure.chosen, hint, locked, prev_idx]
    model_pairs = _select_pairs(prep, must)
    return _Setup(
        started,
        model_pairs,
        pure.objective,
        locked,
        prev_pair,
        hint,
        pure.objective,
        relax_wait,
        guide,
    )


@dataclass
class _Built:
    ctx: RuleContext
    penalties: list[Penalty]
    tiers: list[tuple[str, cp_model.LinearExprT]]
    score_expr: cp_model.LinearExprT


def _build(
    prep: Prepared,
    setup: _Setup,
    policy: Policy,
    skip: frozenset[str] = frozenset(),
    force_rules: bool = True,
    held: NDArray[np.bool_] | None = None,
    outside: dict[str, dict[Any, int]] | None = None,
) -> _Built:
    """The CP-SAT model over `setup.model_pairs`; pairs marked in `held` are the
    constant 1 (chosen, not decided by this model)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    model = cp_model.CpModel()
    mp = setup.model_pairs
    if held is None:
        x: list[Any] = [model.new_bool_var(f"x{i}") for i in range(len(mp))]
    else:
        x = [1 if h else model.new_bool_var(f"x{i}") for i, h in enumerate(held.tolist())]
    pv = PairVars(mp, pairs.v[mp], pairs.p[mp], scores.total[mp], x, held)
    ctx = RuleContext(model, pv, c, pairs, scores, policy, outside=outside or {})
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
    shortfall = None if "min_fill" in skip else add_min_fill(ctx)
    if shortfall is not None:
        tiers.append(("min_fill", -shortfall))
    for name in ("score",) if "objective" in skip else policy.objective:
        if name == "score":
            tiers.append(("score", score_expr))
        elif name == "urgent_coverage":
            tiers.append(("urgent_coverage", urgent_coverage(ctx)))
        else:
            tiers.append(("fairness", fairness_floor(ctx)))
    if force_rules:
        for lit in ctx.enforce.values():
            model.add(lit == 1)
    hint = np.zeros(len(pairs), dtype=np.bool_)
    hint[setup.hint] = True
    for i, var in pv.variables():
        model.add_hint(var, bool(hint[mp[i]]))
    return _Built(ctx, penalties, tiers, score_expr)


def _hint_everything(
    model: cp_model.CpModel, pv: PairVars, start: NDArray[np.bool_], policy: Policy
) -> cp_model.CpSolver | None:
    """Hint every variable of the model, not just the pairs: CP-SAT only starts from a
    hint it can complete, and completing the rules' helper variables is itself a search.
    A copy of the model with the pairs fixed gives the rest at once; it is returned
    (None when the start breaks a rule) so that callers can read values off it."""
    probe = model.clone()
    free = pv.variables()
    for i, var in free:
        probe.add(probe.get_int_var_from_proto_index(var.index) == int(start[i]))
    probe.clear_objective()  # type: ignore[no-untyped-call]
    s = cp_model.CpSolver()
    s.parameters.num_workers = 1
    s.parameters.max_time_in_seconds = max(1.0, 0.1 * policy.time_limit_s)
    s.parameters.random_seed = policy.seed
    model.clear_hints()  # type: ignore[no-untyped-call]
    if s.solve(probe) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        _set_hint(model, list(s.response_proto.solution)[: len(model.proto.variables)])
        return s
    for i, var in free:
        model.add_hint(var, bool(start[i]))
    return None


def _set_hint(model: cp_model.CpModel, values: list[int]) -> None:
    """Hint the first len(values) variables at once (one proto write, not a call each)."""
    model.clear_hints()  # type: ignore[no-untyped-call]
    hint = model.proto.solution_hint
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)


def _solver(policy: Policy, seconds: float, presolve: bool = True) -> cp_model.CpSolver:
    s = cp_model.CpSolver()
    p = s.parameters
    # A portfolio interleaved on one thread: a search that completes returns the same
    # solution on every run (parallel workers could return another of equal value).
    if presolve:
        p.num_workers = 8
        p.interleave_search = True
    else:
        # a restricted model's search is stopped by the clock anyway: use both cores
        p.num_workers = 2
    # The contract's limit is wall-clock. Searches that finish (small rounds, proven
    # optima) give the same result on any machine; a search stopped by the clock may
    # differ with the machine's load (measured: a deterministic-time unit costs 1-3 s
    # of wall clock here, so a deterministic limit cannot honour time_limit_s).
    p.max_time_in_seconds = max(seconds, 0.5)
    p.random_seed = policy.seed
    p.cp_model_presolve = presolve
    return s


@dataclass
class RulesOutcome:
    solution: Solution
    notes: dict[str, Any] = field(default_factory=dict)


def _solve_tiers(
    prep: Prepared,
    setup: _Setup,
    policy: Policy,
    skip: frozenset[str] = frozenset(),
    seconds: float | None = None,
) -> tuple[NDArray[np.intp] | None, _Built, dict[str, Any], bool]:
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
    start = _greedy(prep, setup, policy, skip)
    if not full and seconds is None and not skip:
        picked = np.sort(mp[start]).astype(np.intp)
        ev = Evaluator(prep, policy, setup.prev_pair)
        if not ev.breaches(picked, setup.locked):
            return _solve_by_windows(prep, setup, policy, picked)
    built = _build(prep, setup, policy, skip)
    model = built.ctx.model
    if seconds is None:  # the greedy start and the model come out of the budget too
        budget = max(1.0, CPSAT_SHARE * policy.time_limit_s - (time.perf_counter() - setup.started))
    values: dict[str, Any] = {}
    chosen: NDArray[np.bool_] | None = start
    if start is not None:
        _hint_everything(model, built.ctx.vars, start, policy)
    proven = True
    for k, (name, expr) in enumerate(built.tiers):
        model.maximize(expr)
        # On restricted (large) models presolve alone outlasts the budget (measured:
        # > 6 s at 70,000 pairs with the rules), while the search from a complete hint
        # starts at once: there, search without presolve.
        solver = _solver(policy, max(budget / len(built.tiers), 0.5), presolve=full)
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
        _set_hint(model, solution)
        if k + 1 < len(built.tiers):
            tol = 0.0 if name == "min_fill" else policy.objective_tolerance
            keep = best - int(abs(best) * tol)
            model.add(expr >= keep)
    if chosen is None:
        return None, built, values, False
    return np.sort(mp[chosen]).astype(np.intp), built, values, proven


def _solve_by_windows(
    prep: Prepared, setup: _Setup, policy: Policy, start: NDArray[np.intp]
) -> tuple[NDArray[np.intp], _Built, dict[str, Any], bool]:
    """Large rounds: from a start that keeps every hard rule, re-optimise window after
    window with CP-SAT (`matching.lns`) until the policy's share of the time is spent."""
    share = CPSAT_SHARE
    if setup.relaxed is not None and setup.relaxed.in_background:
        # the result waits for the bound's process until BOUND_SHARE anyway
        share = max(CPSAT_SHARE, BOUND_SHARE)
    deadline = setup.started + share * policy.time_limit_s
    picked, _floors, stats = improve(
        prep,
        policy,
        start,
        setup.locked,
        setup.prev_pair,
        _window_solver(prep, setup, policy),
        deadline,
        guide=setup.guide,
        fresh_guide=setup.fresh_guide,
    )
    ev = Evaluator(prep, policy, setup.prev_pair)
    values: dict[str, Any] = {
        name: {"value": v, "bound": None, "optimal": False}
        for name, v in zip(tier_names(policy), ev.values(picked), strict=True)
    }
    values["search"] = stats
    return picked, _notes_model(prep, setup, policy), values, False


def _notes_model(prep: Prepared, setup: _Setup, policy: Policy) -> _Built:
    """The rules' notes for the result (groups no placement takes, min_fill needs),
    counted on the arrays: an empty model that carries them."""
    c, pairs = prep.compiled, prep.pairs
    empty = np.zeros(0, dtype=np.intp)
    pv = PairVars(empty, pairs.v[empty], pairs.p[empty], prep.scores.total[empty], [])
    ctx = RuleContext(cp_model.CpModel(), pv, c, pairs, prep.scores, policy)
    ctx.notes["groups_unplaceable"] = unplaceable_groups(c, pairs, policy.group_together)
    if policy.min_fill:
        ctx.notes["min_fill_needs"] = {
            p: min(int(policy.min_fill[int(c.priority[p])]), int(c.capacity[p]))
            for p in range(c.n_placements)
            if int(c.priority[p]) in policy.min_fill
        }
    return _Built(ctx, [], [], 0)


@dataclass
class _Local:
    policy: Policy
    """The policy with the budget and the move limit less what the pairs left out use."""
    prev_pair: dict[int, int]
    """Previous assignments of the window's volunteers only."""
    outside: dict[str, dict[Any, int]]
    """The held pairs left out of the model, counted (see `RuleContext.outside`)."""


def _window_scope(
    prep: Prepared, setup: _Setup, policy: Policy, win: Window
) -> tuple[NDArray[np.intp], _Local]:
    """The held pairs a window's model needs, and what the others take from the global
    rules. A held pair matters as a pair only at a placement the window touches
    (slots, nationality cap, gender, min_fill; fairness counts every pair). Elsewhere
    it is a constant: counted per host country, nationality and host for the shares
    and host caps, its cost off the budget, and a volunteer outside the window who has
    moved counted against `max_moves`."""
    c, pairs = prep.compiled, prep.pairs
    touched = np.unique(pairs.p[win.free])
    held = win.fixed
    hp = pairs.p[held]
    keep = np.isin(hp, touched)
    if "fairness" in policy.objective:
        keep[:] = True
    out = held[~keep]
    op = pairs.p[out]
    oc = c.country[op].astype(np.int64)
    on = c.nationality[pairs.v[out]].astype(np.int64)
    counted: dict[str, dict[Any, int]] = {
        "country": dict(zip(*np.unique(oc, return_counts=True), strict=True)),
        "host": dict(zip(*np.unique(c.host[op].astype(np.int64), return_counts=True), strict=True)),
        "country_nat": {
            (int(k) // len(c.countries), int(k) % len(c.countries)): int(n)
            for k, n in zip(*np.unique(oc * len(c.countries) + on, return_counts=True), strict=True)
        },
    }
    counted["country"] = {int(k): int(n) for k, n in counted["country"].items()}
    counted["host"] = {int(k): int(n) for k, n in counted["host"].items()}
    update: dict[str, Any] = {}
    if policy.budget is not None and len(out):
        spent = int(placement_costs(c, policy)[pairs.p[out]].sum())
        update["budget"] = policy.budget.model_copy(update={"total": policy.budget.total - spent})
    in_window = np.zeros(c.n_volunteers, dtype=np.bool_)
    in_window[pairs.v[win.free]] = True
    prev_local = {v: i for v, i in setup.prev_pair.items() if in_window[v]}
    if policy.max_moves is not None and len(prev_local) < len(setup.prev_pair):
        current = np.zeros(len(pairs), dtype=np.bool_)
        current[win.current] = True
        moved = sum(
            1 for v, i in setup.prev_pair.items() if not in_window[v] and (i < 0 or not current[i])
        )
        update["max_moves"] = policy.max_moves - moved
    local = policy.model_copy(update=update) if update else policy
    return held[keep], _Local(local, prev_local, counted)


def _window_solver(prep: Prepared, setup: _Setup, policy: Policy) -> SolveWindow:
    """CP-SAT on one window: its free pairs, the rest of the assignment fixed."""

    def solve(
        win: Window, keep: list[str], name: str, seconds: float
    ) -> tuple[NDArray[np.intp], bool] | None:
        held, local = _window_scope(prep, setup, policy, win)
        mp = np.union1d(win.free, held).astype(np.intp)
        is_fixed = np.isin(mp, held)
        sub = replace(
            setup,
            model_pairs=mp,
            hint=win.current,
            locked=setup.locked[np.isin(setup.locked, mp)],
            prev_pair=local.prev_pair,
        )
        built = _build(prep, sub, local.policy, held=is_fixed, outside=local.outside)
        model = built.ctx.model
        pv = built.ctx.vars
        exprs: dict[str, Any] = dict(built.tiers)
        if name not in exprs:
            return None
        now = _hint_everything(model, pv, np.isin(mp, win.current), policy)
        if now is None:
            return None
        # Tiers before this one: no worse than now. Constants the window leaves out
        # (rules of placements it does not touch) cancel on both sides.
        for tier in keep:
            if tier in exprs:
                model.add(exprs[tier] >= now.value(exprs[tier]))
        last = built.tiers[-1][0]
        if name == last:
            model.maximize(exprs[name])
        else:
            # This tier first, then the last one (score): a weight above anything the
            # last tier can move inside the window keeps the order lexicographic.
            swing = int(prep.scores.total[win.free].sum())
            swing += 2 * policy.gender_balance_penalty * len(np.unique(prep.pairs.p[win.free]))
            swing += policy.move_cost * len(np.unique(prep.pairs.v[win.free]))
            model.maximize((swing + 1) * exprs[name] + exprs[last])
        s = cp_model.CpSolver()
        s.parameters.num_workers = WINDOW_WORKERS
        s.parameters.max_time_in_seconds = max(seconds, 0.1)
        # Most windows are proven within this effort; the others stop with what they
        # have. An effort, not a time: a window gives the same answer on any machine.
        s.parameters.max_deterministic_time = WINDOW_EFFORT
        s.parameters.random_seed = policy.seed
        status = s.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        chosen = pv.value(s)
        whole = status == cp_model.OPTIMAL and len(win.fixed) == 0 and len(mp) == len(prep.pairs)
        # `held` pairs left out of the model are unchanged: the caller adds win.fixed
        return mp[chosen & ~is_fixed], whole

    return solve


def _greedy(
    prep: Prepared, setup: _Setup, policy: Policy, skip: frozenset[str]
) -> NDArray[np.bool_] | None:
    """Insert modelled pairs best-first (locks, then the relaxation's, then kept
    previous pairs, then the rest by score) whenever every hard rule still holds;
    groups go in whole. Returns the chosen modelled pairs, or None when the locks alone break
    a rule (then only CP-SAT can say more)."""
    c, pairs, scores = prep.compiled, prep.pairs, prep.scores
    mp = setup.model_pairs
    n = len(mp)
    pv, pp = pairs.v[mp], pairs.p[mp]
    rank = np.full(n, 3, dtype=np.int64)
    pos = np.full(len(pairs), -1, dtype=np.intp)
    pos[mp] = np.arange(n)
    prev = np.array([i for i in setup.prev_pair.values() if i >= 0], dtype=np.intp)
    # the relaxation already weighs keeping previous pairs (the move bonus) against
    # the rest: its pairs come first
    if len(prev) and "moves" not in skip:
        rank[pos[prev][pos[prev] >= 0]] = 2
    rank[pos[setup.hint][pos[setup.hint] >= 0]] = 1
    locked = pos[setup.locked] if "locked" not in skip else np.zeros(0, dtype=np.intp)
    rank[locked] = 0
    order = np.lexsort((-scores.total[mp], rank))
    cost = placement_costs(c, policy)[pp] if "budget" not in skip else np.zeros(n, np.int64)
    budget = policy.budget.total if policy.budget is not None and "budget" not in skip else None
    nat_cap = (
        None if "nationality_per_placement" in skip else (policy.max_same_nationality_per_placement)
    )
    share = None if "nationality_share" in skip else policy.max_nationality_share_per_country
    host_cap = None if "max_per_host" in skip else policy.max_per_host
    together = policy.group_together
    use_groups = "groups" not in skip
    # Python lists: the loop below looks at one pair at a time, tens of thousands of
    # times, where numpy's per-element access costs more than the work
    pv_l, pp_l = pv.tolist(), pp.tolist()
    cost_l = cost.tolist()
    cap_l = c.capacity.tolist()
    host_of, country_of = c.host.tolist(), c.country.tolist()
    nat_of, gender_of, group_of = c.nationality.tolist(), c.gender.tolist(), c.group.tolist()
    rank_l = rank.tolist()
    placed = [False] * c.n_volunteers
    load = [0] * c.n_placements
    host_load = [0] * len(c.hosts)
    nat_at: dict[tuple[int, int], int] = {}
    in_country = [0] * len(c.countries)
    nat_in: dict[tuple[int, int], int] = {}
    spent = 0
    chosen = np.zeros(n, dtype=np.bool_)
    members = {g: np.flatnonzero(c.group == g) for g in np.unique(c.group[c.group >= 0]).tolist()}
    by_v: dict[int, list[int]] = {}
    for i in np.lexsort((-scores.total[mp], pv)).tolist():
        by_v.setdefault(pv_l[i], []).append(i)
    # a group member's best pair at each placement (or in each country)
    best_at: dict[tuple[int, int], int] = {}
    for g_members in members.values():
        for v in g_members.tolist():
            for j in by_v.get(v, []):
                where = pp_l[j] if together == "placement" else country_of[pp_l[j]]
                best_at.setdefault((v, where), j)
    pct = round(share * 100) if share is not None else 0
    allow = policy.nationality_share_allowance

    def fits_one(i: int) -> bool:
        p, v = pp_l[i], pv_l[i]
        if load[p] >= cap_l[p]:
            return False
        if host_cap is not None and host_load[host_of[p]] >= host_cap:
            return False
        nat = nat_of[v]
        if nat_cap is not None and nat_at.get((p, nat), 0) >= nat_cap:
            return False
        if budget is not None and spent + cost_l[i] > budget:
            return False
        if share is not None:
            co = country_of[p]
            if 100 * (nat_in.get((co, nat), 0) + 1) > pct * (in_country[co] + 1) + 100 * allow:
                return False
        return True

    def fits(batch: list[int]) -> bool:
        if len(batch) == 1:
            return fits_one(batch[0])
        extra_p: dict[int, int] = {}
        extra_h: dict[int, int] = {}
        extra_n: dict[tuple[int, int], int] = {}
        extra_c: dict[int, int] = {}
        extra_cn: dict[tuple[int, int], int] = {}
        money = 0
        for i in batch:
            p, v = pp_l[i], pv_l[i]
            extra_p[p] = extra_p.get(p, 0) + 1
            h = host_of[p]
            extra_h[h] = extra_h.get(h, 0) + 1
            key = (p, nat_of[v])
            extra_n[key] = extra_n.get(key, 0) + 1
            co = country_of[p]
            extra_c[co] = extra_c.get(co, 0) + 1
            ck = (co, nat_of[v])
            extra_cn[ck] = extra_cn.get(ck, 0) + 1
            money += cost_l[i]
        if any(load[p] + k > cap_l[p] for p, k in extra_p.items()):
            return False
        if host_cap is not None and any(host_load[h] + k > host_cap for h, k in extra_h.items()):
            return False
        if nat_cap is not None and any(nat_at.get(k, 0) + x > nat_cap for k, x in extra_n.items()):
            return False
        if budget is not None and spent + money > budget:
            return False
        if share is not None:
            # adding people only loosens the cap of the nationalities not added
            for (co, nat), k in extra_cn.items():
                total = in_country[co] + extra_c[co]
                if 100 * (nat_in.get((co, nat), 0) + k) > pct * total + 100 * allow:
                    return False
        return True

    def take(batch: list[int]) -> None:
        nonlocal spent
        for i in batch:
            p, v = pp_l[i], pv_l[i]
            chosen[i] = True
            placed[v] = True
            if lone is not None and load[p] == 0:
                lone[p] = gender_of[v]
            load[p] += 1
            host_load[host_of[p]] += 1
            key = (p, nat_of[v])
            nat_at[key] = nat_at.get(key, 0) + 1
            co = country_of[p]
            in_country[co] += 1
            nat_in[(co, nat_of[v])] = nat_in.get((co, nat_of[v]), 0) + 1
            spent += cost_l[i]

    later: list[int] = []
    lone: list[int] | None = None  # the gender of a placement's one occupant
    applies: list[bool] = []
    if policy.gender_balance and "gender_balance" not in skip:
        applies = balance_applies(c, pairs).tolist()
        lone = [-1] * c.n_placements

    def makes_a_miss(i: int) -> bool:
        p = pp_l[i]
        if lone is None or not applies[p] or load[p] != 1:
            return False
        both = {lone[p], gender_of[pv_l[i]]}
        return not all(g in both for g in BALANCED_GENDERS)

    locked_set = set(locked.tolist())
    for i in order.tolist():
        v = pv_l[i]
        if placed[v]:
            continue
        g = group_of[v]
        if use_groups and g >= 0 and len(members.get(g, ())) > 1:
            # the whole group, at this pair's placement (or country)
            batch = [i]
            for other in members[g].tolist():
                if other == v:
                    continue
                if placed[other]:
                    batch = []
                    break
                where = pp_l[i] if together == "placement" else country_of[pp_l[i]]
                j = best_at.get((other, where), -1)
                if j < 0:
                    batch = []
                    break
                batch.append(j)
            if batch and (i in locked_set or fits(batch)):
                take(batch)
            continue
        if i in locked_set or fits_one(i):
            if rank_l[i] >= 2 and lone is not None and makes_a_miss(i):
                later.append(i)
                continue
            take([i])
    # a second person of the first one's gender costs the balance penalty: such
    # pairs go in only after every other pair has had its chance
    for i in later:
        if not placed[pv_l[i]] and fits_one(i):
            take([i])
    return chosen


def _diagnose(prep: Prepared, setup: _Setup, policy: Policy) -> list[Conflict]:
    """Which hard rules (and locked pairs) cannot hold together, from CP-SAT's
    sufficient assumptions on a feasibility model."""
    built = _build(prep, setup, policy, force_rules=False)
    model = built.ctx.model
    model.clear_objective()  # type: ignore[no-untyped-call]
    model.clear_hints()  # type: ignore[no-untyped-call]
    names = {lit.index: rule for rule, lit in built.ctx.enforce.items()}
    model.add_assumptions(list(built.ctx.enforce.values()))
    solver = _solver(policy, min(10.0, policy.time_limit_s))
    solver.solve(model)
    core = [names[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in names]
    return [
        Conflict(
            rule=r,
            message=f"the rule {r!r} cannot hold together with "
            + ", ".join(x for x in core if x != r),
        )
        for r in core
    ] or [Conflict(rule="rules", message="the rules cannot all hold")]


def solve_with_rules(prep: Prepared) -> Solution:
    """Solve a round whose policy adds rules beyond the hard ones."""
    # the time limit counts the round's preparation too (2-3 s at 100,000 x 20,000):
    # the shares below are of the whole solve
    t0 = time.perf_counter()
    policy = prep.compiled.round.policy
    setup = _setup(prep, t0 - sum(prep.timings.values()))
    try:
        return _solve_set_up(prep, setup, policy, t0)
    finally:
        if setup.relaxed is not None:
            setup.relaxed.cancel()


def _solve_set_up(prep: Prepared, setup: _Setup, policy: Policy, t0: float) -> Solution:
    picked_or_none, built, tiers, proven = _solve_tiers(prep, setup, policy)
    softened: list[dict[str, Any]] = []
    if picked_or_none is None:
        picked_or_none, built, tiers, proven, softened = _soften(prep, setup, policy)
    picked = picked_or_none
    mp = setup.model_pairs
    score_total = int(prep.scores.total[picked].sum())
    # evaluate penalties on the chosen solution without a solver
    penalty_points = _penalty_values(prep, setup, policy, picked)
    objective = score_total - sum(penalty_points.values())
    full = len(mp) == len(prep.pairs)
    # the relaxation may still be running beside the search: its best bound by then
    bound = setup.bound(setup.started + BOUND_SHARE * policy.time_limit_s)
    if softened:
        # the relaxation assumed rules that were dropped: only the flow without any
        # rule still bounds the result
        bound = setup.pure_objective
    last = tiers.get("score")
    if full and last is not None and policy.objective[-1] == "score" and last["optimal"]:
        bound = min(bound, last["bound"])
    status: Literal["optimal", "feasible"] = (
        "optimal" if (full and proven and objective >= bound) else "feasible"
    )
    extra: dict[str, Any] = {
        "rules": {"active": rules_active(prep)}
        | _rule_report(prep, setup, policy, picked, built, penalty_points),
        "tiers": tiers,
        "solver": {
            "model_pairs": len(mp),
            "all_pairs": len(prep.pairs),
            "pure_optimum": setup.pure_objective,
            "seconds": round(time.perf_counter() - t0, 3),
        },
    }
    if softened:
        extra["conflicts"] = softened
    want_costs = policy.rule_costs
    if want_costs is None:
        want_costs = len(prep.pairs) <= RULE_COST_PAIRS
    if want_costs:
        extra["rules"]["costs"] = _rule_costs(prep, setup, policy, objective)
    extra["volunteer_reasons"] = _group_reasons(prep, built)
    if prep.compiled.round.previous:
        extra["moves"] = moves_report(
            prep.compiled, prep.pairs, prep.scores, picked, setup.prev_pair
        )
    return Solution(
        chosen=picked, status=status, objective=objective, bound=max(bound, objective), extra=extra
    )


RELAX_ORDER = (
    "max_moves",
    "budget",
    "nationality_share",
    "nationality_per_placement",
    "max_per_host",
)
"""Hard rules that may be dropped when they cannot all hold, first tried first."""
RULE_COST_PAIRS = 50_000
"""Up to this many pairs, each rule's cost is measured by re-solving without it."""


def rules_active(prep: Prepared) -> list[str]:
    """The rules of this round that constrain or penalise the model."""
    policy, r = prep.compiled.round.policy, prep.compiled.round
    on = [x for x in policy.rules_in_use() if x != "max_moves"]
    if has_groups(prep):
        on.insert(0, "groups")
    if r.previous and (policy.move_cost or policy.max_moves is not None):
        on.append("moves")
    return on


def _rule_costs(
    prep: Prepared, setup: _Setup, policy: Policy, objective: int
) -> dict[str, int | None]:
    """Score each rule costs: the objective without the rule minus the objective with
    all of them (None where the re-solve found nothing in its time)."""
    out: dict[str, int | None] = {}
    rules = rules_active(prep)
    share = max(policy.time_limit_s / max(len(rules), 1) / 2, 0.5)
    for rule in rules:
        picked, _built, _tiers, _ = _solve_tiers(prep, setup, policy, frozenset({rule}), share)
        if picked is None:
            out[rule] = None
            continue
        alt = int(prep.scores.total[picked].sum()) - sum(
            v
            for k, v in _penalty_values(prep, setup, policy, picked).items()
            if k != rule and not (rule == "moves" and k == "moves")
        )
        out[rule] = max(0, alt - objective)
    return out


def _group_reasons(prep: Prepared, built: _Built) -> dict[str, list[str]]:
    """Reasons for members of groups that no placement can take whole."""
    c = prep.compiled
    out: dict[str, list[str]] = {}
    unplaceable: dict[str, str] = built.ctx.notes.get("groups_unplaceable", {})
    for vi in np.flatnonzero(c.group >= 0).tolist():
        text = unplaceable.get(c.group_ids[int(c.group[vi])])
        if text:
            out[c.volunteer_ids[vi]] = [text]
    return out


def _feasible(
    prep: Prepared, setup: _Setup, policy: Policy, skip: frozenset[str] = frozenset()
) -> bool:
    """Whether the hard rules of `policy` (and the locks) can hold together."""
    built = _build(prep, setup, policy, skip)
    solver = _solver(policy, max(2.0, min(10.0, 0.2 * policy.time_limit_s)))
    return solver.solve(built.ctx.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


def _soften(
    prep: Prepared, setup: _Setup, policy: Policy
) -> tuple[NDArray[np.intp], _Built, dict[str, Any], bool, list[dict[str, Any]]]:
    """The hard rules cannot all hold. When the locks (or frozen stages, groups, slots)
    are part of every conflict, raise `InfeasibleRound` naming them: the coordinator
    must decide. Otherwise drop rules in RELAX_ORDER until the rest hold, solve, and
    report what was dropped."""
    conflicts = _diagnose(prep, setup, policy)
    droppable = [
        r
        for r in RELAX_ORDER
        if r in rules_active(prep) or (r == "max_moves" and policy.max_moves is not None)
    ]
    if len(setup.locked) and _feasible(prep, setup, policy, frozenset({"locked"})):
        # the rules hold without the locks: the locks are the cause
        raise InfeasibleRound(conflicts)
    if not droppable or not _feasible(
        prep, setup, policy.model_copy(update=_relax(policy, set(droppable)))
    ):
        raise InfeasibleRound(conflicts)
    dropped: set[str] = set()
    for r in droppable:
        dropped.add(r)
        if _feasible(prep, setup, policy.model_copy(update=_relax(policy, dropped))):
            break
    relaxed = policy.model_copy(update=_relax(policy, dropped))
    chosen, built, tiers, proven = _solve_tiers(prep, setup, relaxed)
    if chosen is None:
        raise InfeasibleRound(conflicts)
    softened = [
        Conflict(
            rule=r,
            message=f"the rule {r!r} could not hold together with the others "
            f"({', '.join(sorted(set(droppable) - {r})) or 'the locks'}) and was dropped "
            "for this round",
        ).as_dict()
        | {"softened": True}
        for r in sorted(dropped)
    ]
    return chosen, built, tiers, proven, softened


def _relax(policy: Policy, rules: set[str]) -> dict[str, Any]:
    field_of = {
        "nationality_per_placement": "max_same_nationality_per_placement",
        "nationality_share": "max_nationality_share_per_country",
        "max_per_host": "max_per_host",
        "budget": "budget",
        "max_moves": "max_moves",
    }
    return {field_of[r]: None for r in rules if r in field_of}


def _penalty_values(
    prep: Prepared, setup: _Setup, policy: Policy, picked: NDArray[np.intp]
) -> dict[str, int]:
    """Points each soft rule costs in the chosen assignment, counted directly."""
    c, pairs = prep.compiled, prep.pairs
    out: dict[str, int] = {}
    if policy.gender_balance:
        out["gender_balance"] = missing_genders(c, pairs, picked) * policy.gender_balance_penalty
    if setup.prev_pair and policy.move_cost:
        kept = set(picked.tolist())
        moved = sum(1 for i in setup.prev_pair.values() if i < 0 or i not in kept)
        out["moves"] = moved * policy.move_cost
    return out


def _rule_report(
    prep: Prepared,
    setup: _Setup,
    policy: Policy,
    picked: NDArray[np.intp],
    built: _Built,
    penalty_points: dict[str, int],
) -> dict[str, Any]:
    """Per rule in use: what it cost, and what it could not keep."""
    c = prep.compiled
    report: dict[str, Any] = {}
    notes = built.ctx.notes
    for text in notes.get("groups_unplaceable", {}).values():
        report.setdefault("groups", {"unplaceable": []})["unplaceable"].append(text)
    needs: dict[int, int] = notes.get("min_fill_needs", {})
    if needs:
        got = np.bincount(prep.pairs.p[picked], minlength=c.n_placements)
        short = [
            {
                "placement": c.placement_ids[p],
                "priority": int(c.priority[p]),
                "needed": need,
                "got": int(got[p]),
            }
            for p, need in sorted(needs.items())
            if got[p] < need
        ]
        report["min_fill"] = {"placements": len(needs), "short": short}
    for rule, pts in penalty_points.items():
        report.setdefault(rule, {})["penalty"] = pts
    report["total_cost_vs_pure_optimum"] = max(
        0, setup.pure_objective - int(prep.scores.total[picked].sum())
    )
    return report

"""Rounds with policy rules: `solve_with_rules` assembles the parts of `matching.rules`.

Small rounds (up to `FULL_MODEL_PAIRS` eligible pairs) get one CP-SAT model that holds
every pair and can prove the optimum: one boolean per eligible pair does not get
through CP-SAT's presolve on large rounds in the time limit. Larger ones start from a
greedy solution that keeps every rule and are improved window by window
(`matching.rules.search`): CP-SAT on a dozen placements at a time, the rest of the
assignment held as constants. The relaxation of `matching.rules.bound` is a valid
upper bound whatever the search leaves out; `status` is `optimal` only when the model
holds every pair and CP-SAT proves its optimum.
"""

from __future__ import annotations

import time
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared, Solution
from volmatch.matching.previous import moves_report
from volmatch.matching.rules.evaluate import Evaluator
from volmatch.matching.rules.gap import bound_moves
from volmatch.matching.rules.objective import tier_names
from volmatch.matching.rules.repair import hard_breaches, repair
from volmatch.matching.rules.report import (
    RULE_COST_PAIRS,
    group_reasons,
    penalty_values,
    rule_costs,
    rule_report,
    rules_active,
)
from volmatch.matching.rules.setup import BOUND_SHARE, RulesSetup, set_up
from volmatch.matching.rules.soften import relaxed_policy, soften
from volmatch.matching.rules.tiers import solve_tiers
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Conflict, Policy


def solve_with_rules(prep: Prepared, watch: StopWatch = NO_STOP) -> Solution:
    """Solve a round whose policy adds rules beyond the hard ones. Raises `Stopped`
    (`matching.stop`) within a fraction of a second of `watch` saying stop, the
    bound's child process ended."""
    # the time limit counts the round's preparation too (seconds on the largest
    # rounds): the shares of the time limit are of the whole solve
    t0 = time.perf_counter()
    policy = prep.compiled.round.policy
    setup = set_up(prep, t0 - sum(prep.timings.values()), watch)
    setup.stages["setup"] = time.perf_counter() - t0
    try:
        return _solve_set_up(prep, setup, policy, t0)
    finally:
        if setup.relaxed is not None:
            setup.relaxed.cancel()


def _solve_set_up(prep: Prepared, setup: RulesSetup, policy: Policy, t0: float) -> Solution:
    """Solve the tiers (softening the rules when they cannot all hold) and report."""
    t_tiers = time.perf_counter()
    picked_or_none, built, tiers, proven = solve_tiers(prep, setup, policy)
    softened: list[dict[str, Any]] = []
    if picked_or_none is None:
        picked_or_none, built, tiers, proven, softened = soften(prep, setup, policy)
    setup.stages["search"] = time.perf_counter() - t_tiers
    t_report = time.perf_counter()
    in_force = relaxed_policy(policy, softened)
    picked, broken = _holding(prep, setup, in_force, picked_or_none, tiers)
    score_total = int(prep.scores.total[picked].sum())
    # evaluate penalties on the chosen solution without a solver
    penalty_points = penalty_values(prep, setup, policy, picked)
    objective = score_total - sum(penalty_points.values())
    full = len(setup.model_pairs) == len(prep.pairs)
    bound, bound_source = _proven_bound(setup, policy, tiers, full, in_force is not policy)
    status: Literal["optimal", "feasible", "infeasible"] = (
        "optimal" if (full and proven and objective >= bound) else "feasible"
    )
    if broken:
        # never claim a result that breaks a hard rule: name the rules it breaks
        status = "infeasible"
        softened = softened + [
            Conflict(
                rule=r,
                message=f"the result breaks the rule {r!r}: no assignment keeping every "
                "rule was found within the time limit",
            ).as_dict()
            | {"broken": True}
            for r in broken
        ]
    setup.stages["bound_and_report"] = time.perf_counter() - t_report
    top = max(bound, objective)
    extra: dict[str, Any] = {
        "rules": {"active": rules_active(prep)}
        | rule_report(prep, setup, policy, picked, built, penalty_points),
        "tiers": tiers,
        "solver": {
            "model_pairs": len(setup.model_pairs),
            "all_pairs": len(prep.pairs),
            "pure_optimum": setup.pure_objective,
            # which bound the result claims: the relaxation's, CP-SAT's, or the round
            # without rules (and why) when nothing tighter came in time
            "bound_source": bound_source,
            "seconds": round(time.perf_counter() - t0, 3),
            "stages": {k: round(v, 3) for k, v in setup.stages.items()},
            # the share of the bound the result may still be short of it
            "gap": round((top - objective) / top, 6) if top > 0 else 0.0,
        },
    }
    if softened:
        extra["conflicts"] = softened
    if broken:
        extra["rules"]["broken"] = broken
    want_costs = policy.rule_costs
    if want_costs is None:
        want_costs = len(prep.pairs) <= RULE_COST_PAIRS
    if want_costs:
        extra["rules"]["costs"] = rule_costs(prep, setup, policy, objective)
        prev_idx = np.array([i for i in setup.prev_pair.values() if i >= 0], dtype=np.intp)
        # (a dropped rule leaves the flow's bound without rules; and the flows are
        # not run past the time limit)
        if in_force is policy and setup.seconds_left(policy) > 0:
            extra["solver"]["gap_rule"] = bound_moves(
                prep,
                policy,
                setup.locked,
                prev_idx,
                len(prep.compiled.round.previous),
                until=time.perf_counter() + setup.seconds_left(policy),
                watch=setup.watch,
            )
    extra["volunteer_reasons"] = group_reasons(prep, built)
    if prep.compiled.round.previous:
        extra["moves"] = moves_report(
            prep.compiled, prep.pairs, prep.scores, picked, setup.prev_pair
        )
    return Solution(chosen=picked, status=status, objective=objective, bound=top, extra=extra)


def _holding(
    prep: Prepared,
    setup: RulesSetup,
    policy: Policy,
    picked: NDArray[np.intp],
    tiers: dict[str, Any],
) -> tuple[NDArray[np.intp], list[str]]:
    """The assignment to report and the hard rules it still breaks. A solve whose
    CP-SAT model found nothing in its time is left with the greedy start, which may
    break a rule (locks, the move limit): it is repaired (`matching.rules.repair`)
    and the tiers' values are counted again on what is reported."""
    broken = hard_breaches(prep, policy, setup.prev_pair, picked, setup.locked)
    if not broken:
        return picked, []
    picked = repair(prep, policy, setup.prev_pair, picked, setup.locked)
    ev = Evaluator(prep, policy, setup.prev_pair)
    for name, value in zip(tier_names(policy), ev.values(picked), strict=True):
        tiers[name] = {"value": value, "bound": None, "optimal": False}
    return picked, hard_breaches(prep, policy, setup.prev_pair, picked, setup.locked)


def _proven_bound(
    setup: RulesSetup, policy: Policy, tiers: dict[str, Any], full: bool, softened: bool
) -> tuple[int, str]:
    """The bound the result can claim and its source: the relaxation's, or the flow's
    without rules when a rule was dropped (the relaxation assumed it), or CP-SAT's own
    on a model of every pair whose last tier is the score."""
    # the relaxation may still be running beside the search: its best bound by then
    bound, source = setup.bound_and_source(setup.started + BOUND_SHARE * policy.time_limit_s)
    if softened:
        bound, source = setup.pure_objective, "pure_optimum: a rule was dropped for this round"
    last = tiers.get("score")
    proven = full and last is not None and policy.objective[-1] == "score" and last["optimal"]
    if proven and last is not None and last["bound"] < bound:
        bound, source = last["bound"], "cp_sat"
    return bound, source

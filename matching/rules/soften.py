"""Hard rules that cannot all hold together: name the rules in conflict (CP-SAT's
sufficient assumptions), raise `InfeasibleRound` when the coordinator's locks are part
of it, and otherwise drop rules in `RELAX_ORDER` until the rest hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.model import RulesModel, build_model, cpsat_solver, solve_watched
from volmatch.matching.rules.report import rules_active
from volmatch.matching.rules.setup import RulesSetup
from volmatch.matching.rules.tiers import solve_tiers
from volmatch.models import Conflict, InfeasibleRound, Policy

MAX_CHECK_SECONDS = 10.0
"""Seconds at most for finding the rules in conflict, and for each check of whether
a set of rules can hold together."""
CHECK_SHARE = 0.2
"""Share of the time limit each such check takes ..."""
MIN_CHECK_SECONDS = 2.0
"""... and at least this many seconds."""
RELAX_ORDER = (
    "max_moves",
    "budget",
    "nationality_share",
    "nationality_per_placement",
    "max_per_host",
)
"""Hard rules that may be dropped when they cannot all hold, first tried first."""


MINIMISE_CHECKS = 40
"""Solves at most spent making a conflict minimal (one per assumption tried out):
cores are a handful of records, and past this the core found so far is reported."""


def _diagnose(prep: Prepared, setup: RulesSetup, policy: Policy) -> list[Conflict]:
    """Which records of the hard rules (locks, caps of a placement and nationality, a
    host's cap, groups; the budget, shares and move limit as a whole) cannot hold
    together: CP-SAT's sufficient assumptions on a feasibility model with a literal
    per record, then made minimal by leaving each out in turn (a record whose removal
    leaves the rest infeasible is not needed). One `Conflict` per rule in the core,
    each with the sentence naming every record of it."""
    built = build_model(prep, setup, policy, force_rules=False, by_record=True)
    ctx = built.ctx
    model = ctx.model
    model.clear_objective()  # type: ignore[no-untyped-call]
    model.clear_hints()  # type: ignore[no-untyped-call]
    named: dict[int, tuple[str, tuple[int, ...]]] = {
        lit.index: (rule, ()) for rule, lit in ctx.enforce.items()
    }
    named |= {lit.index: key for key, lit in ctx.records.items()}
    lits = {lit.index: lit for lit in [*ctx.enforce.values(), *ctx.records.values()]}
    seconds = setup.clamp(min(MAX_CHECK_SECONDS, policy.time_limit_s), policy)
    model.add_assumptions(list(lits.values()))
    solver = cpsat_solver(policy, seconds)
    solve_watched(solver, model, setup.watch)
    found = [i for i in solver.sufficient_assumptions_for_infeasibility() if i in named]
    if not found:
        return [Conflict(rule="rules", message="the rules cannot all hold")]
    core = _minimal(model, policy, [lits[i] for i in found], setup)
    records = [named[lit.index] for lit in core]
    sentence = describe_conflict(prep, policy, records)
    rules = list(dict.fromkeys(rule for rule, _ in records))
    c = prep.compiled
    out = []
    for rule in rules:
        keys = [k for r, k in records if r == rule]
        vols = [c.volunteer_ids[k[0]] for k in keys if rule == "locked"]
        places = [
            c.placement_ids[k[0 if rule != "locked" else 1]]
            for k in keys
            if rule in ("locked", "nationality_per_placement")
        ]
        out.append(
            Conflict(
                rule=rule,
                message=sentence,
                volunteers=tuple(vols),
                placements=tuple(dict.fromkeys(places)),
            )
        )
    return out


def _minimal(
    model: cp_model.CpModel, policy: Policy, core: list[cp_model.IntVar], setup: RulesSetup
) -> list[cp_model.IntVar]:
    """Drop each assumption of an infeasible core in turn while the rest stay
    infeasible (deletion filter): what is left is a minimal core, unless a check ran
    out of time (then that assumption stays), `MINIMISE_CHECKS` or the time limit ran
    out."""
    kept = list(core)
    k = 0
    checks = 0
    while k < len(kept) and len(kept) > 1 and checks < MINIMISE_CHECKS:
        if checks and not setup.seconds_left(policy):
            break
        trial = kept[:k] + kept[k + 1 :]
        model.clear_assumptions()
        model.add_assumptions(trial)
        seconds = setup.clamp(min(MAX_CHECK_SECONDS, policy.time_limit_s), policy)
        status = solve_watched(cpsat_solver(policy, seconds), model, setup.watch)
        checks += 1
        if status == cp_model.INFEASIBLE:
            kept = trial
        else:
            k += 1
    return kept


def describe_conflict(
    prep: Prepared, policy: Policy, records: list[tuple[str, tuple[int, ...]]]
) -> str:
    """A conflict in the coordinator's words, record by record: "locks V001->P009 and
    V002->P009: 2 volunteers of CN at P009 where the cap is 1"."""
    c = prep.compiled
    locks = [k for r, k in records if r == "locked"]
    parts = []
    for rule, key in records:
        if rule == "locked":
            continue
        if rule == "nationality_per_placement":
            p, nat = key
            n_locked = sum(1 for v, q in locks if q == p and c.nationality[v] == nat)
            cap = policy.max_same_nationality_per_placement
            who = f"{n_locked} volunteers of {c.countries[nat]} at {c.placement_ids[p]}"
            parts.append(
                f"{who} where the cap is {cap}"
                if n_locked
                else f"at most {cap} of {c.countries[nat]} at {c.placement_ids[p]}"
            )
        elif rule == "max_per_host":
            (h,) = key
            n_locked = sum(1 for _, q in locks if c.host[q] == h)
            parts.append(
                f"{n_locked} volunteers at host {c.hosts[h]} where the cap is {policy.max_per_host}"
                if n_locked
                else f"at most {policy.max_per_host} at host {c.hosts[h]}"
            )
        elif rule == "groups":
            (g,) = key
            members = ", ".join(c.volunteer_ids[v] for v in (c.group == g).nonzero()[0].tolist())
            where = "placement" if policy.group_together == "placement" else "host country"
            parts.append(f"group {c.group_ids[g]} ({members}) together in one {where}")
        elif rule == "budget" and policy.budget is not None:
            parts.append(f"the budget of {policy.budget.total}")
        elif rule == "max_moves":
            parts.append(f"at most {policy.max_moves} moves")
        elif rule == "nationality_share":
            parts.append(
                f"at most {policy.max_nationality_share_per_country:.0%} (+"
                f"{policy.nationality_share_allowance}) of one nationality per country"
            )
        else:
            parts.append(f"the rule {rule!r}")
    if locks:
        names = [f"{c.volunteer_ids[v]}->{c.placement_ids[p]}" for v, p in locks]
        head = (
            "lock " + names[0]
            if len(names) == 1
            else ("locks " + ", ".join(names[:-1]) + " and " + names[-1])
        )
        return head + (": " + "; ".join(parts) if parts else "")
    return "cannot all hold: " + "; ".join(parts)


def _feasible(
    prep: Prepared, setup: RulesSetup, policy: Policy, skip: frozenset[str] = frozenset()
) -> bool:
    """Whether the hard rules of `policy` (and the locks) can hold together."""
    built = build_model(prep, setup, policy, skip)
    seconds = max(MIN_CHECK_SECONDS, min(MAX_CHECK_SECONDS, CHECK_SHARE * policy.time_limit_s))
    solver = cpsat_solver(policy, setup.clamp(seconds, policy))
    return solve_watched(solver, built.ctx.model, setup.watch) in (
        cp_model.OPTIMAL,
        cp_model.FEASIBLE,
    )


NO_OTHER_RULE = "the round's hard rules, slots, locks and frozen assignments"
"""What a dropped rule could not hold with when no other policy rule was dropped: the
round's own records (a round without locks was told "the locks")."""


def soften(
    prep: Prepared, setup: RulesSetup, policy: Policy
) -> tuple[NDArray[np.intp], RulesModel, dict[str, Any], bool, list[dict[str, Any]]]:
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
    chosen, built, tiers, proven = solve_tiers(prep, setup, relaxed)
    if chosen is None:
        raise InfeasibleRound(conflicts)
    softened = [
        Conflict(
            rule=r,
            message=f"the rule {r!r} could not hold together with the others "
            f"({', '.join(sorted(set(droppable) - {r})) or NO_OTHER_RULE}) and was dropped "
            "for this round",
        ).as_dict()
        | {"softened": True}
        for r in sorted(dropped)
    ]
    return chosen, built, tiers, proven, softened


def relaxed_policy(policy: Policy, softened: list[dict[str, Any]]) -> Policy:
    """The policy in force after `soften` dropped the rules it names (`policy` itself
    when none was dropped)."""
    dropped = {c["rule"] for c in softened if c.get("softened")}
    return policy.model_copy(update=_relax(policy, dropped)) if dropped else policy


def _relax(policy: Policy, rules: set[str]) -> dict[str, Any]:
    field_of = {
        "nationality_per_placement": "max_same_nationality_per_placement",
        "nationality_share": "max_nationality_share_per_country",
        "max_per_host": "max_per_host",
        "budget": "budget",
        "max_moves": "max_moves",
    }
    return {field_of[r]: None for r in rules if r in field_of}

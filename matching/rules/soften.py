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
from volmatch.matching.rules.model import RulesModel, build_model, cpsat_solver
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


def _diagnose(prep: Prepared, setup: RulesSetup, policy: Policy) -> list[Conflict]:
    """Which hard rules (and locked pairs) cannot hold together, from CP-SAT's
    sufficient assumptions on a feasibility model."""
    built = build_model(prep, setup, policy, force_rules=False)
    model = built.ctx.model
    model.clear_objective()  # type: ignore[no-untyped-call]
    model.clear_hints()  # type: ignore[no-untyped-call]
    names = {lit.index: rule for rule, lit in built.ctx.enforce.items()}
    model.add_assumptions(list(built.ctx.enforce.values()))
    solver = cpsat_solver(policy, min(MAX_CHECK_SECONDS, policy.time_limit_s))
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


def _feasible(
    prep: Prepared, setup: RulesSetup, policy: Policy, skip: frozenset[str] = frozenset()
) -> bool:
    """Whether the hard rules of `policy` (and the locks) can hold together."""
    built = build_model(prep, setup, policy, skip)
    solver = cpsat_solver(
        policy, max(MIN_CHECK_SECONDS, min(MAX_CHECK_SECONDS, CHECK_SHARE * policy.time_limit_s))
    )
    return solver.solve(built.ctx.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)


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

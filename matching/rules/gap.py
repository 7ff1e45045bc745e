"""Which rule the gap is in: the relaxation of which rule moves the bound most.

The bound (`matching.rules.bound`) keeps some rules exactly (locks, the groups' reach,
host caps, the nationality cap per placement, the budget through its multiplier) and
the gender rule through a stand-in; it leaves the others out (shares per country, the
move limit, the objective tiers). Solving the bound's flows again with one kept rule
relaxed at a time measures how much each holds the bound down: the rule that moves it
most is where the round's structure is, and where a relaxation is most likely to
differ from the best assignment. A rule the bound leaves out moves it by nothing, so
those are listed apart: part of any gap may be theirs.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from volmatch.matching.prepared import Prepared
from volmatch.matching.rules.bound import relaxation
from volmatch.matching.rules.report import rules_active
from volmatch.matching.stop import NO_STOP, StopWatch
from volmatch.models import Policy

GAP_FLOWS = 2
"""Flows of the budget's multiplier search per relaxed bound: the same count for every
rule, so that the moves compare like with like (one flow without a budget)."""
KEPT_BY_BOUND = (
    "locked",
    "groups",
    "max_per_host",
    "nationality_per_placement",
    "budget",
    "gender_balance",
)
"""The rules the bound's flows keep (gender balance through its stand-in)."""
_FIELD = {
    "max_per_host": "max_per_host",
    "nationality_per_placement": "max_same_nationality_per_placement",
    "budget": "budget",
}


def bound_moves(
    prep: Prepared,
    policy: Policy,
    locked: NDArray[np.intp],
    prev_pairs: NDArray[np.intp],
    n_previous: int,
    until: float | None = None,
    watch: StopWatch = NO_STOP,
) -> dict[str, Any]:
    """Per rule the bound keeps, how far its flows' bound rises when that rule is
    relaxed; the rule of the largest rise (`rule`, None when nothing moved it), and the
    rules in force the bound leaves out (`left_out`). Rules not reached by `until` (a
    perf_counter() value: the solve's time limit) are listed in `unmeasured`. Raises
    `Stopped` between two flows once `watch` says stop."""
    active = set(rules_active(prep))
    if len(locked):
        active.add("locked")
    base = relaxation(
        prep, policy, locked, prev_pairs, n_previous, max_flows=GAP_FLOWS, watch=watch
    ).bound
    moves: dict[str, int] = {}
    unmeasured: list[str] = []
    none = np.zeros(0, dtype=np.intp)
    for rule in KEPT_BY_BOUND:
        if rule not in active:
            continue
        if until is not None and time.perf_counter() > until:
            unmeasured.append(rule)
            continue
        relaxed, lock, groups = policy, locked, True
        if rule == "locked":
            lock = none
        elif rule == "groups":
            groups = False
        elif rule == "gender_balance":
            relaxed = policy.model_copy(update={"gender_balance": False})
        else:
            relaxed = policy.model_copy(update={_FIELD[rule]: None})
        got = relaxation(
            prep,
            relaxed,
            lock,
            prev_pairs,
            n_previous,
            max_flows=GAP_FLOWS,
            groups=groups,
            watch=watch,
        ).bound
        moves[rule] = max(0, got - base)
    # the move cost is in the flows' weights; the move limit is not
    left_out = sorted(active - set(KEPT_BY_BOUND) - {"moves"})
    if n_previous and policy.max_moves is not None:
        left_out.append("max_moves")
    most: str | None = None
    if moves and max(moves.values()) > 0:
        most = max(moves, key=lambda r: moves[r])
    out: dict[str, Any] = {
        "rule": most,
        "bound_moves": moves,
        "left_out": left_out,
        "flows_bound": base,
    }
    if unmeasured:
        out["unmeasured"] = unmeasured
    return out

"""Low-disruption re-matching against the previous published assignment; the move
limit written once (`moves_hold`: ints for `breaches`, CP-SAT expressions for the
model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from volmatch.matching.constraints.base import IntP, Penalty, RuleContext
from volmatch.models import Policy


def moves_hold(kept: Any, n_previous: int, policy: Policy) -> Any:
    """At most `max_moves` of the `n_previous` previous assignments move (the policy
    must set the limit): `kept` counts those kept."""
    assert policy.max_moves is not None
    return kept >= n_previous - policy.max_moves


def breaches(prev_pair: dict[int, int], picked: IntP, policy: Policy) -> bool:
    """Whether an assignment moves more than `max_moves` of the previous assignments
    (`prev_pair`: previous volunteer -> their previous pair, -1 when gone)."""
    if policy.max_moves is None or not prev_pair:
        return False
    prev = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
    return not moves_hold(int(np.isin(prev, picked).sum()), len(prev_pair), policy)


def add_moves(ctx: RuleContext, prev_at: dict[int, int]) -> list[Penalty]:
    """Keep previous assignments where possible: each volunteer moved away from their
    previous placement (or left unplaced) costs `move_cost` points, and at most
    `max_moves` may move.

    `prev_at` maps a previous volunteer index to the index in `ctx.vars` of their
    previous pair, or -1 when that pair is no longer eligible (a forced move).
    """
    if not prev_at:
        return []
    pv, m = ctx.vars, ctx.model
    kept = [pv.x[i] for i in prev_at.values() if i >= 0]
    forced = sum(1 for i in prev_at.values() if i < 0)
    moved = len(prev_at) - cp_model.LinearExpr.sum(kept) if kept else len(prev_at)
    limit = ctx.policy.max_moves
    if limit is not None:
        m.add(moves_hold(cp_model.LinearExpr.sum(kept), len(prev_at), ctx.policy)).only_enforce_if(
            ctx.on("max_moves")
        )
    ctx.notes["forced_moves"] = forced
    if ctx.policy.move_cost == 0 or not kept:
        return []
    return [Penalty("moves", moved, ctx.policy.move_cost)]

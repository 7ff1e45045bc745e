"""Low-disruption re-matching against the previous published assignment; the move
limit written once (`moves_hold`: ints for `breaches`, CP-SAT expressions for the
model)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from volmatch.matching.constraints.base import IntP, Penalty, RuleContext
from volmatch.models import Policy


def move_limit(policy: Policy, forced: int) -> int:
    """How many previous assignments may change: `max_moves` (the policy must set it), or
    the `forced` ones where they are more. A previous pair that breaks a hard rule now,
    or that a placement has no slot left for, changes whatever the limit says; it
    counts, and the limit still keeps every other previous pair instead of being
    dropped for the round."""
    assert policy.max_moves is not None
    return max(policy.max_moves, forced)


def forced_moves(
    gone: int, placements: NDArray[np.integer[Any]], capacity: NDArray[np.int64]
) -> int:
    """Previous assignments that must change: the `gone` ones (their pair breaks a hard
    rule now) and, per placement, those beyond its slots (`placements`: the placement of
    each other previous pair)."""
    if not len(placements):
        return gone
    held = np.bincount(placements, minlength=len(capacity))
    return gone + int(np.maximum(held - capacity, 0).sum())


def moves_hold(kept: Any, n_previous: int, policy: Policy, forced: int = 0) -> Any:
    """At most `move_limit` of the `n_previous` previous assignments move, `forced` of
    them because their pair is no longer eligible: `kept` counts those kept."""
    return kept >= n_previous - move_limit(policy, forced)


def breaches(
    prev_pair: dict[int, int],
    picked: IntP,
    policy: Policy,
    pair_p: NDArray[np.integer[Any]],
    capacity: NDArray[np.int64],
) -> bool:
    """Whether an assignment moves more than `max_moves` of the previous assignments
    (`prev_pair`: previous volunteer -> their previous pair, -1 when gone; `pair_p`: the
    placement of each pair, `capacity` its slots)."""
    if policy.max_moves is None or not prev_pair:
        return False
    prev = np.array([i for i in prev_pair.values() if i >= 0], dtype=np.intp)
    kept = int(np.isin(prev, picked).sum())
    forced = forced_moves(len(prev_pair) - len(prev), pair_p[prev], capacity)
    return not moves_hold(kept, len(prev_pair), policy, forced)


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
    forced = forced_moves(
        sum(1 for i in prev_at.values() if i < 0),
        pv.p[[i for i in prev_at.values() if i >= 0]],
        ctx.compiled.capacity,
    )
    moved = len(prev_at) - cp_model.LinearExpr.sum(kept) if kept else len(prev_at)
    limit = ctx.policy.max_moves
    if limit is not None:
        m.add(
            moves_hold(cp_model.LinearExpr.sum(kept), len(prev_at), ctx.policy, forced)
        ).only_enforce_if(ctx.on("max_moves"))
    ctx.notes["forced_moves"] = forced
    if ctx.policy.move_cost == 0 or not kept:
        return []
    return [Penalty("moves", moved, ctx.policy.move_cost)]

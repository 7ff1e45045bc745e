"""Low-disruption re-matching against the previous published assignment."""

from __future__ import annotations

from ortools.sat.python import cp_model

from volmatch.matching.constraints.base import Penalty, RuleContext


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
        m.add(cp_model.LinearExpr.sum(kept) >= len(prev_at) - limit).only_enforce_if(
            ctx.on("max_moves")
        )
    ctx.notes["forced_moves"] = forced
    if ctx.policy.move_cost == 0 or not kept:
        return []
    return [Penalty("moves", moved, ctx.policy.move_cost)]
